package cli

import (
	"fmt"
	"slices"
	"strings"
)

// Filters is a repeatable --filter KEY=VALUE flag (a pflag.Value). As in
// docker, the values given for one key are alternatives (OR) and different
// keys must all match (AND).
type Filters struct {
	values map[string][]string
	order  []string // keys in the order given, for String
}

// Set adds one KEY=VALUE.
func (f *Filters) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return fmt.Errorf("bad format of filter %q (expected name=value)", s)
	}
	if f.values == nil {
		f.values = map[string][]string{}
	}
	if _, seen := f.values[key]; !seen {
		f.order = append(f.order, key)
	}
	f.values[key] = append(f.values[key], value)
	return nil
}

// String lists the filters as given.
func (f *Filters) String() string {
	var parts []string
	for _, k := range f.order {
		for _, v := range f.values[k] {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

// Type is the placeholder shown in usage: "-f, --filter filter".
func (f *Filters) Type() string { return "filter" }

// Validate rejects a key not in allowed: "invalid filter 'KEY'".
func (f *Filters) Validate(allowed ...string) error {
	for _, k := range f.order {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return nil
}

// Get returns the values given for key, nil when none.
func (f *Filters) Get(key string) []string { return f.values[key] }

// MatchAny says whether any value given for key satisfies match; true when
// the key was not given.
func (f *Filters) MatchAny(key string, match func(value string) bool) bool {
	values, ok := f.values[key]
	if !ok {
		return true
	}
	return slices.ContainsFunc(values, match)
}

// MatchLabels implements docker's label filters for key over labels:
// "k" matches a node or service having label k, "k=v" one having it set
// to v.
func (f *Filters) MatchLabels(key string, labels map[string]string) bool {
	return f.MatchAny(key, func(value string) bool {
		k, v, withValue := strings.Cut(value, "=")
		got, ok := labels[k]
		return ok && (!withValue || got == v)
	})
}
