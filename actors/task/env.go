package task

import (
	"strconv"
	"strings"
)

// HostnameOrID is the task's hostname: the service's, else its short ID.
func (s Spec) HostnameOrID() string {
	if s.Hostname != "" {
		return s.Hostname
	}
	return ShortID(s.TaskID)
}

// Env is the environment of a task: base (what the runtime puts first),
// the service's env over it, then HOSTNAME, PORT and HOST, which describe
// the task and where it listens and so win over the service's env. Each
// variable appears once, with its last value, at its first place.
func Env(s Spec, base ...string) []string {
	env := make([]string, 0, len(base)+len(s.Env)+2)
	env = append(env, base...)
	env = append(env, s.Env...)
	env = append(env, "HOSTNAME="+s.HostnameOrID())
	if s.Port != 0 {
		env = append(env, "PORT="+strconv.FormatUint(uint64(s.Port), 10))
	}
	if s.Host != "" {
		env = append(env, "HOST="+s.Host)
	}
	at := make(map[string]int, len(env))
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := at[k]; ok {
			out[i] = kv
			continue
		}
		at[k] = len(out)
		out = append(out, kv)
	}
	return out
}
