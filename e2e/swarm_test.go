//go:build linux

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file holds what the tests share: forming a swarm the way a user
// does, and reading and checking what `node ls` shows.

// Messages of the product the tests expect word for word.
const (
	msgNoLeader = "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."
)

var (
	initPattern  = regexp.MustCompile(`^Swarm initialized: current node \(([0-9a-z]+)\) is now a manager\.\n`)
	tokenPattern = regexp.MustCompile(`^SWMTKN-1-([0-9a-z]+)-([0-9a-z]+)$`)
)

// notJoined reports whether stderr is a daemon's answer that it is not
// part of a swarm.
func notJoined(stderr string) bool {
	return strings.Contains(stderr, "not a swarm manager") || strings.Contains(stderr, "not part of a swarm")
}

// swarm is a swarm a test formed: who is what, and the node IDs.
type swarm struct {
	c        *Cluster
	managers []int
	workers  []int
	ids      map[int]string // node index → node ID
}

// initSwarm runs `swarm init` on node i, checks its output and returns the
// new node ID and the worker join token it printed.
func initSwarm(t *testing.T, c *Cluster, i int) (id, workerToken string) {
	t.Helper()
	out := c.MustCtl(i, "swarm", "init")
	m := initPattern.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("swarm init on %s printed %q; want it to start with %q", c.Node(i).Hostname, out, "Swarm initialized: current node (<id>) is now a manager.")
	}
	join := regexp.MustCompile(`swarmctl swarm join --token (\S+) (\S+)`).FindStringSubmatch(out)
	if join == nil {
		t.Fatalf("swarm init on %s printed no join command:\n%s", c.Node(i).Hostname, out)
	}
	if join[2] != c.Node(i).GatewayAddr() {
		t.Errorf("swarm init on %s: join command names %s, want %s", c.Node(i).Hostname, join[2], c.Node(i).GatewayAddr())
	}
	return m[1], join[1]
}

// joinToken returns `swarm join-token -q ROLE` from node i.
func joinToken(t *testing.T, c *Cluster, i int, role string) string {
	t.Helper()
	tok := strings.TrimSpace(c.MustCtl(i, "swarm", "join-token", "-q", role))
	if !tokenPattern.MatchString(tok) {
		t.Fatalf("swarm join-token -q %s on %s printed %q; want SWMTKN-1-<digest>-<secret>", role, c.Node(i).Hostname, tok)
	}
	return tok
}

// mustJoin joins node i through manager node mgr with token and checks it
// joined as role.
func mustJoin(t *testing.T, c *Cluster, i, mgr int, token, role string) {
	t.Helper()
	out := c.MustCtl(i, "swarm", "join", "--token", token, c.Node(mgr).GatewayAddr())
	if want := "This node joined a swarm as a " + role + ".\n"; out != want {
		t.Fatalf("swarm join on %s printed %q, want %q", c.Node(i).Hostname, out, want)
	}
}

// waitManager waits until manager node i serves a linearizable node list
// that shows it as a manager: it took its place in Raft.
func waitManager(t *testing.T, c *Cluster, i int) {
	t.Helper()
	Eventually(t, 15*time.Second, func() error {
		rows, err := c.Nodes(i)
		if err != nil {
			return err
		}
		self, err := selfRow(rows)
		if err != nil {
			return err
		}
		if self.Hostname != c.Node(i).Hostname || (self.ManagerStatus != "Leader" && self.ManagerStatus != "Reachable") {
			return fmt.Errorf("%s is not yet a reachable manager: %v", c.Node(i).Hostname, rows)
		}
		return nil
	})
}

// formSwarm starts the nodes and forms a swarm with swarmctl only: init on
// managers[0], the other managers join with the manager token, the workers
// with the worker token. Each joined manager is waited for before the next
// join; TestFormation checks joins in quick succession on their own.
func formSwarm(t *testing.T, c *Cluster, managers, workers []int) *swarm {
	t.Helper()
	c.Start(append(slices.Clone(managers), workers...)...)
	first := managers[0]
	initSwarm(t, c, first)
	mt, wt := joinToken(t, c, first, "manager"), joinToken(t, c, first, "worker")
	for _, m := range managers[1:] {
		mustJoin(t, c, m, first, mt, "manager")
		waitManager(t, c, m)
	}
	for _, w := range workers {
		mustJoin(t, c, w, first, wt, "worker")
	}
	s := &swarm{c: c, managers: managers, workers: workers, ids: map[int]string{}}
	var rows []NodeRow
	Eventually(t, 10*time.Second, func() error {
		var err error
		if rows, err = c.Nodes(first); err != nil {
			return err
		}
		return checkNodes(rows, s.allReady())
	})
	for _, r := range rows {
		s.ids[s.index(t, r.Hostname)] = r.ID
	}
	t.Logf("swarm formed: managers %v, workers %v: %v", managers, workers, rows)
	return s
}

// index is the node index of hostname ("node-3" → 3).
func (s *swarm) index(t *testing.T, hostname string) int {
	t.Helper()
	i, err := strconv.Atoi(strings.TrimPrefix(hostname, "node-"))
	if err != nil || !strings.HasPrefix(hostname, "node-") {
		t.Fatalf("hostname %q is not one the harness gave", hostname)
	}
	return i
}

// allReady is the expectation of a healthy swarm: every node Ready, the
// managers Leader or Reachable.
func (s *swarm) allReady() map[string]string {
	want := map[string]string{}
	for _, m := range s.managers {
		want[s.c.Node(m).Hostname] = "Ready manager"
	}
	for _, w := range s.workers {
		want[s.c.Node(w).Hostname] = "Ready worker"
	}
	return want
}

// checkNodes compares `node ls` rows with want: hostname → "STATUS ROLE"
// where STATUS is Ready or Down and ROLE is "worker" (no manager status),
// "manager" (Leader or Reachable) or a manager status to match exactly
// (Leader, Reachable, Unreachable). Rows must name exactly want's hostnames;
// a swarm with a Ready manager must show exactly one Leader.
func checkNodes(rows []NodeRow, want map[string]string) error {
	seen := map[string]bool{}
	leaders, readyManagers := 0, 0
	var problems []string
	for _, r := range rows {
		if seen[r.Hostname] {
			problems = append(problems, fmt.Sprintf("%s is listed twice", r.Hostname))
			continue
		}
		seen[r.Hostname] = true
		if r.ManagerStatus == "Leader" {
			leaders++
		}
		w, ok := want[r.Hostname]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is listed but should not be", r.Hostname))
			continue
		}
		status, role, _ := strings.Cut(w, " ")
		if r.Status != status {
			problems = append(problems, fmt.Sprintf("%s is %s, want %s", r.Hostname, r.Status, status))
		}
		switch role {
		case "worker":
			if r.ManagerStatus != "" {
				problems = append(problems, fmt.Sprintf("%s has manager status %s, want a worker (none)", r.Hostname, r.ManagerStatus))
			}
		case "manager":
			if r.ManagerStatus != "Leader" && r.ManagerStatus != "Reachable" {
				problems = append(problems, fmt.Sprintf("%s has manager status %q, want Leader or Reachable", r.Hostname, r.ManagerStatus))
			}
		default:
			if r.ManagerStatus != role {
				problems = append(problems, fmt.Sprintf("%s has manager status %q, want %s", r.Hostname, r.ManagerStatus, role))
			}
		}
		if status == "Ready" && role != "worker" && role != "Unreachable" {
			readyManagers++
		}
	}
	for _, h := range slices.Sorted(maps.Keys(want)) {
		if !seen[h] {
			problems = append(problems, fmt.Sprintf("%s is missing", h))
		}
	}
	if readyManagers > 0 && leaders != 1 {
		problems = append(problems, fmt.Sprintf("%d leaders, want exactly 1", leaders))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s\nnode ls: %v", strings.Join(problems, "; "), rows)
	}
	return nil
}

// leaderRow returns the one row shown as Leader.
func leaderRow(rows []NodeRow) (NodeRow, error) {
	var found []NodeRow
	for _, r := range rows {
		if r.ManagerStatus == "Leader" {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return NodeRow{}, fmt.Errorf("%d leaders, want exactly 1: %v", len(found), rows)
	}
	return found[0], nil
}

// selfRow returns the one row marked "*".
func selfRow(rows []NodeRow) (NodeRow, error) {
	var found []NodeRow
	for _, r := range rows {
		if r.Self {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return NodeRow{}, fmt.Errorf("%d rows marked *, want exactly 1: %v", len(found), rows)
	}
	return found[0], nil
}

// rowOf returns the row of hostname.
func rowOf(rows []NodeRow, hostname string) (NodeRow, bool) {
	for _, r := range rows {
		if r.Hostname == hostname {
			return r, true
		}
	}
	return NodeRow{}, false
}

// membership is what must not change when a command is refused: who is in
// the swarm, in which state and role.
func membership(rows []NodeRow) string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s/%s/%s/%s/%s", r.ID, r.Hostname, r.Status, r.Availability, r.ManagerStatus))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// oneLineError checks the output of a refused swarmctl run: exit status 1,
// nothing on stdout, one non-empty line on stderr.
func oneLineError(stdout, stderr string, code int) error {
	switch {
	case code != 1:
		return fmt.Errorf("exit status %d, want 1 (stdout %q, stderr %q)", code, stdout, stderr)
	case stdout != "":
		return fmt.Errorf("refused, but printed %q on stdout", stdout)
	case strings.TrimSpace(stderr) == "":
		return fmt.Errorf("refused without a message on stderr")
	case strings.Contains(strings.TrimSpace(stderr), "\n"):
		return fmt.Errorf("stderr is not one line:\n%s", stderr)
	}
	return nil
}

// idsOf returns the lines of `node ls -q`-style output, sorted.
func idsOf(out string) []string {
	ids := strings.Fields(out)
	sort.Strings(ids)
	return ids
}

// sortedIDs returns the IDs of the given nodes, sorted.
func (s *swarm) sortedIDs(idx ...int) []string {
	var ids []string
	for _, i := range idx {
		ids = append(ids, s.ids[i])
	}
	sort.Strings(ids)
	return ids
}

// inspected is the part of `node inspect`'s JSON the tests read.
type inspected struct {
	ID   string `json:"id"`
	Spec struct {
		Availability string            `json:"availability"`
		Labels       map[string]string `json:"labels"`
	} `json:"spec"`
	Description struct {
		Hostname string `json:"hostname"`
	} `json:"description"`
	Role string `json:"role"`
}

// inspect runs `node inspect REF` on node i and decodes its one node.
func inspect(t *testing.T, c *Cluster, i int, ref string) inspected {
	t.Helper()
	out := c.MustCtl(i, "node", "inspect", ref)
	var got []inspected
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("node inspect %s on %s: output is not a JSON array: %v\n%s", ref, c.Node(i).Hostname, err, out)
	}
	if len(got) != 1 {
		t.Fatalf("node inspect %s on %s: %d nodes, want 1\n%s", ref, c.Node(i).Hostname, len(got), out)
	}
	return got[0]
}

// writeRogueBundle writes a client bundle whose ca.pem is the swarm's (so
// the client trusts the server) but whose certificate comes from a CA of
// its own, with the admin role in it.
func writeRogueBundle(t *testing.T, swarmCA, dir string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rogue CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "admin", OrganizationalUnit: []string{"swarm-admin"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(swarmCA)
	if err != nil {
		t.Fatalf("swarm CA certificate: %v", err)
	}
	files := map[string][]byte{
		"ca.pem":   ca,
		"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	writeBundle(t, dir, files)
}

// writeNodeBundle writes a client bundle made of a node's own certificate
// and key: a certificate of the swarm's CA, but not the admin's.
func writeNodeBundle(t *testing.T, swarmCA string, n *Node, dir string) {
	t.Helper()
	files := map[string][]byte{}
	for name, src := range map[string]string{
		"ca.pem":   swarmCA,
		"cert.pem": filepath.Join(n.DataDir, "certs", "node.pem"),
		"key.pem":  filepath.Join(n.DataDir, "certs", "node-key.pem"),
	} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("node certificate bundle of %s: %v", n.Hostname, err)
		}
		files[name] = data
	}
	writeBundle(t, dir, files)
}

func writeBundle(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
