package service

import (
	"fmt"
	"strings"
)

// constraintKeys are the node attributes a constraint may test; a key
// ending in "." is a prefix followed by a name of the user's.
var constraintKeys = []string{"node.id", "node.hostname", "node.role", "node.labels.", "node.platform.os", "node.platform.arch"}

// checkConstraint vets a placement constraint, KEY==VALUE or KEY!=VALUE
// over a known node attribute, and returns it without the spaces around
// its parts.
func checkConstraint(s string) (string, error) {
	op := "=="
	key, value, ok := strings.Cut(s, op)
	if !ok {
		op = "!="
		key, value, ok = strings.Cut(s, op)
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if !ok || key == "" || value == "" || strings.ContainsAny(value, "=!") {
		return "", fmt.Errorf("invalid constraint %q: want KEY==VALUE or KEY!=VALUE", s)
	}
	if !knownConstraintKey(key) {
		return "", fmt.Errorf("invalid constraint %q: unknown key %s (want node.id, node.hostname, node.role, node.labels.<label>, node.platform.os or node.platform.arch)", s, key)
	}
	return key + op + value, nil
}

func knownConstraintKey(key string) bool {
	for _, k := range constraintKeys {
		if prefix, ok := strings.CutSuffix(k, "."); ok {
			if name, ok := strings.CutPrefix(key, prefix+"."); ok && name != "" {
				return true
			}
		} else if key == k {
			return true
		}
	}
	return false
}

// spreadLabel reads a --placement-pref, spread=node.labels.LABEL, and
// returns LABEL.
func spreadLabel(s string) (string, error) {
	strategy, arg, ok := strings.Cut(s, "=")
	if !ok || strategy == "" {
		return "", fmt.Errorf(`placement preference must be of the format "<strategy>=<arg>"`)
	}
	if strategy != "spread" {
		return "", fmt.Errorf("unsupported placement preference %s (only spread is supported)", strategy)
	}
	label, ok := strings.CutPrefix(arg, "node.labels.")
	if !ok || label == "" {
		return "", fmt.Errorf("invalid placement preference %q: want spread=node.labels.<label>", s)
	}
	return label, nil
}
