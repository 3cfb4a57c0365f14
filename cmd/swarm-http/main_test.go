package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestHandler(t *testing.T) {
	h := newHandler("web-1", discardLogger())
	tests := []struct {
		method, path string
		wantCode     int
		wantBody     string
		wantType     string
	}{
		{"GET", "/", 200, "<h1>This request was processed by host: web-1</h1>\n", "text/html; charset=utf-8"},
		{"GET", "/any/path", 200, "<h1>This request was processed by host: web-1</h1>\n", "text/html; charset=utf-8"},
		{"GET", "/healthz", 200, "ok\n", "text/plain; charset=utf-8"},
		{"POST", "/", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", rec.Body.String(), tt.wantBody)
			}
			if tt.wantType != "" && rec.Header().Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", rec.Header().Get("Content-Type"), tt.wantType)
			}
		})
	}
}

// TestHostnameFromEnv runs the command as main does, with the real
// environment, and checks that $HOSTNAME ends up on the page.
func TestHostnameFromEnv(t *testing.T) {
	t.Setenv("HOSTNAME", "task-from-env")
	t.Setenv("PORT", "")
	kernel := func() (string, error) { return "kernel-name", nil }
	var got config
	cmd := newCommand(os.Getenv, kernel, func(c config) error { got = c; return nil })
	cmd.SetArgs(nil)
	cmd.SetOut(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.hostname != "task-from-env" {
		t.Fatalf("hostname = %q, want %q", got.hostname, "task-from-env")
	}
	rec := httptest.NewRecorder()
	newHandler(got.hostname, discardLogger()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if want := "<h1>This request was processed by host: task-from-env</h1>\n"; rec.Body.String() != want {
		t.Errorf("body = %q, want %q", rec.Body.String(), want)
	}
}

func TestConfig(t *testing.T) {
	kernel := func() (string, error) { return "kernel-name", nil }
	tests := []struct {
		name         string
		args         []string
		env          map[string]string
		wantPort     int
		wantAddr     string
		wantHostname string
		wantErr      bool
	}{
		{name: "defaults", wantPort: 80, wantHostname: "kernel-name"},
		{name: "PORT", env: map[string]string{"PORT": "8080"}, wantPort: 8080, wantHostname: "kernel-name"},
		{name: "flag wins over PORT", args: []string{"--port", "9000"}, env: map[string]string{"PORT": "8080"}, wantPort: 9000, wantHostname: "kernel-name"},
		{name: "flag ignores bad PORT", args: []string{"--port=9000"}, env: map[string]string{"PORT": "x"}, wantPort: 9000, wantHostname: "kernel-name"},
		{name: "addr", args: []string{"--addr", "127.0.0.1"}, wantPort: 80, wantAddr: "127.0.0.1", wantHostname: "kernel-name"},
		{name: "HOSTNAME wins", env: map[string]string{"HOSTNAME": "h1"}, wantPort: 80, wantHostname: "h1"},
		{name: "bad PORT", env: map[string]string{"PORT": "http"}, wantErr: true},
		{name: "PORT out of range", env: map[string]string{"PORT": "70000"}, wantErr: true},
		{name: "port out of range", args: []string{"--port", "-1"}, wantErr: true},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: true},
		{name: "extra argument", args: []string{"serve"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			var got config
			ran := false
			cmd := newCommand(getenv, kernel, func(c config) error { got, ran = c, true; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.Execute()
			if tt.wantErr {
				if err == nil || ran {
					t.Fatalf("err = %v, ran = %v; want an error and no run", err, ran)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.port != tt.wantPort || got.addr != tt.wantAddr || got.hostname != tt.wantHostname {
				t.Errorf("config = %+v, want port %d addr %q hostname %q", got, tt.wantPort, tt.wantAddr, tt.wantHostname)
			}
		})
	}
}

func TestHostnameError(t *testing.T) {
	boom := errors.New("boom")
	_, err := resolveHostname(func(string) string { return "" }, func() (string, error) { return "", boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}
