package docker

import (
	"strings"
	"testing"
)

func TestReadPullStream(t *testing.T) {
	for _, tc := range []struct {
		name, stream, err string
	}{
		{"empty", "", ""},
		{"pulled", `{"status":"Pulling from library/web","id":"latest"}
{"status":"Digest: sha256:0123"}
{"status":"Status: Downloaded newer image for web:latest"}
`, ""},
		{"error detail", `{"status":"Pulling from library/web"}
{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown (old field)"}
{"status":"never read"}`, "manifest unknown"},
		{"old error field", `{"error":"pull access denied"}`, "pull access denied"},
		{"not json", `<html>proxy error</html>`, "read pull progress: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readPullStream(strings.NewReader(tc.stream))
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("readPullStream = %v, want nil", err)
			case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
				t.Errorf("readPullStream = %v, want %q...", err, tc.err)
			}
		})
	}
}
