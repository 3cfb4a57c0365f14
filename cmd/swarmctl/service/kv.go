package service

import (
	"fmt"
	"os"
	"strings"
)

// checkLabel vets a label, KEY=VALUE or KEY (an empty value).
func checkLabel(s string) (string, error) {
	if k, _, _ := strings.Cut(s, "="); strings.TrimSpace(k) == "" {
		return "", fmt.Errorf("invalid label %q: want KEY=VALUE or KEY", s)
	}
	return s, nil
}

// checkEnv vets an environment variable, KEY=VALUE, or KEY alone which
// takes the value KEY has here, as docker does (and stays KEY=nothing
// when it has none).
func checkEnv(s string) (string, error) {
	k, _, hasValue := strings.Cut(s, "=")
	if k == "" {
		return "", fmt.Errorf("invalid environment variable: %s", s)
	}
	if hasValue {
		return s, nil
	}
	if v, ok := os.LookupEnv(k); ok {
		return k + "=" + v, nil
	}
	return s, nil
}

func checkNetwork(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("invalid network %q: want a network name or ID", s)
	}
	return s, nil
}

// labelMap turns KEY=VALUE labels into a map, nil when there are none.
func labelMap(labels []string) map[string]string {
	if len(labels) == 0 {
		return nil
	}
	m := make(map[string]string, len(labels))
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// envKey is the name an environment entry sets.
func envKey(entry string) string {
	k, _, _ := strings.Cut(entry, "=")
	return k
}
