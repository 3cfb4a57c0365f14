package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sizes of rolling-update-under-load.
const (
	updateReplicas      = 4
	updateQuickReplicas = 2
	updateClients       = 4
	updatePort          = "18310"
)

// runRollingUpdate measures a rolling update of a published service while
// clients send requests through the routing mesh of every node, one new
// connection per request: the requests that failed (the product promises
// none), the requests answered per second meanwhile, and how long the
// update took (service update, waiting for convergence as the CLI does).
func runRollingUpdate(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "rolling-update-under-load"
	replicas := updateReplicas
	if opts.Quick {
		replicas = updateQuickReplicas
	}
	s, err := startSwarm(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	from := s.managers[0]
	httpBin := filepath.Join(opts.BinDir, "swarm-http")
	if _, err := s.Ctl(ctx, from, "service", "create", "-d", "--name", "web", "--replicas", strconv.Itoa(replicas),
		"--update-parallelism", "1", "--update-delay", "0s", "-p", updatePort+":80", httpBin); err != nil {
		return nil, err
	}
	if err := s.waitSettled(ctx, from, "web", replicas); err != nil {
		return nil, err
	}
	var addrs []string
	for i := 1; i <= len(s.managers)+len(s.workers); i++ {
		addrs = append(addrs, s.Node(i).IP+":"+updatePort)
	}
	if err := Poll(ctx, settleTimeout, "every node's published port to answer", func(ctx context.Context) error {
		for _, a := range addrs {
			if _, err := httpGet(ctx, "http://"+a+"/"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	params := s.serviceParameters(replicas, from)
	params["task"] = "process swarm-http, published " + updatePort + ":80"
	params["update"] = "service update --env-add, parallelism 1, delay 0s, stop-first"
	params["clients"] = fmt.Sprintf("%d, one connection per request, round the %d nodes", updateClients, len(addrs))
	started := time.Now()
	failed := Record{Scenario: name + "/failed", Parameters: params, Started: started, Unit: "requests"}
	rate := Record{Scenario: name + "/answered", Parameters: maps.Clone(params), Started: started, Unit: "requests/s"}
	took := Record{Scenario: name + "/update", Parameters: maps.Clone(params), Started: started, Unit: "ms"}
	for run := 1; run <= opts.Repeat; run++ {
		load := startLoad(addrs, updateClients)
		t0 := time.Now()
		_, uerr := s.Ctl(ctx, from, "service", "update", "--env-add", "RUN="+strconv.Itoa(run), "web")
		d := time.Since(t0)
		ok, bad, firstErr := load.stop()
		if uerr != nil {
			return nil, uerr
		}
		failed.Samples = append(failed.Samples, float64(bad))
		rate.Samples = append(rate.Samples, float64(ok)/d.Seconds())
		took.Samples = append(took.Samples, ms(d))
		note := ""
		if bad > 0 {
			note = " (first: " + firstErr + ")"
		}
		opts.progress(name, run, "update took %s ms; %d requests answered, %d failed%s", FormatFigure(ms(d)), ok, bad, note)
	}
	return []Record{failed, rate, took}, nil
}

// load is clients sending requests round a set of addresses.
type load struct {
	stopCh   chan struct{}
	wg       sync.WaitGroup
	ok, bad  atomic.Int64
	mu       sync.Mutex
	firstErr string
}

func startLoad(addrs []string, clients int) *load {
	l := &load{stopCh: make(chan struct{})}
	for c := range clients {
		l.wg.Go(func() {
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for k := c; ; k++ {
				select {
				case <-l.stopCh:
					return
				default:
				}
				err := fetch(hc, "http://"+addrs[k%len(addrs)]+"/")
				if err == nil {
					l.ok.Add(1)
					continue
				}
				l.bad.Add(1)
				l.mu.Lock()
				if l.firstErr == "" {
					l.firstErr = err.Error()
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func fetch(hc *http.Client, url string) error {
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "processed by host") {
		return fmt.Errorf("status %d: %q", resp.StatusCode, b)
	}
	return nil
}

// stop ends the load and returns its counts and its first error.
func (l *load) stop() (ok, bad int64, firstErr string) {
	close(l.stopCh)
	l.wg.Wait()
	return l.ok.Load(), l.bad.Load(), l.firstErr
}
