package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// identity is what this node persists of itself in DATA_DIR/node.json.
type identity struct {
	NodeID       string `json:"node_id"`
	ClusterID    string `json:"cluster_id"`
	Manager      bool   `json:"manager"`
	ReplicaID    uint64 `json:"replica_id,omitempty"`
	DeploymentID uint64 `json:"deployment_id,omitempty"`
	// RaftDir is the NodeHost directory name under the data dir; a cluster
	// forced anew gets a fresh one.
	RaftDir string `json:"raft_dir,omitempty"`
	// Settled is false while replicas that joined as non-voting members
	// have not yet been snapshotted as voting ones (cluster.SettleVoting).
	Settled bool `json:"settled,omitempty"`
	// JoinedNonVoting is set for replicas that joined as non-voting
	// members (join with a manager token, promotion), not for the first
	// manager or one forced anew.
	JoinedNonVoting bool         `json:"joined_non_voting,omitempty"`
	Managers        []managerRef `json:"managers"`
}

type managerRef struct {
	NodeID      string `json:"node_id"`
	GatewayAddr string `json:"gateway_addr"`
	RaftAddr    string `json:"raft_addr,omitempty"`
	ReplicaID   uint64 `json:"replica_id,omitempty"`
}

func peersFrom(ps []*swarmv1.Peer) []managerRef {
	out := make([]managerRef, 0, len(ps))
	for _, p := range ps {
		out = append(out, managerRef{NodeID: p.NodeId, GatewayAddr: p.GatewayAddr, RaftAddr: p.RaftAddr, ReplicaID: p.ReplicaId})
	}
	return out
}

func (id *identity) peers() []*swarmv1.Peer {
	out := make([]*swarmv1.Peer, 0, len(id.Managers))
	for _, p := range id.Managers {
		out = append(out, &swarmv1.Peer{NodeId: p.NodeID, GatewayAddr: p.GatewayAddr, RaftAddr: p.RaftAddr, ReplicaId: p.ReplicaID})
	}
	return out
}

// paths of the data directory.
type paths struct{ dir string }

func (p paths) identity() string { return filepath.Join(p.dir, "node.json") }
func (p paths) certs() string    { return filepath.Join(p.dir, "certs") }
func (p paths) caPEM() string    { return filepath.Join(p.dir, "certs", "ca.pem") }
func (p paths) certPEM() string  { return filepath.Join(p.dir, "certs", "node.pem") }
func (p paths) keyPEM() string   { return filepath.Join(p.dir, "certs", "node-key.pem") }
func (p paths) admin() string    { return filepath.Join(p.dir, "admin") }
func (p paths) socket() string   { return filepath.Join(p.dir, "swarmd.sock") }
func (p paths) lock() string     { return filepath.Join(p.dir, "swarmd.lock") }
func (p paths) raft(name string) string {
	return filepath.Join(p.dir, name)
}

func loadIdentity(p paths) (*identity, error) {
	data, err := os.ReadFile(p.identity())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id := &identity{}
	if err := json.Unmarshal(data, id); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", p.identity(), err)
	}
	if id.NodeID == "" {
		return nil, fmt.Errorf("%s holds no node ID", p.identity())
	}
	return id, nil
}

func saveIdentity(p paths, id *identity) error {
	data, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(p.identity(), data, 0o600)
}

// writeFileAtomic writes data to a temporary file, syncs it and renames it
// over path, so that a crash leaves the old or the new content.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lockDir takes an exclusive lock on the data directory; a second swarmd on
// the same directory would corrupt Raft (dragonboat panics on it).
func lockDir(p paths) (*os.File, error) {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	f, err := os.OpenFile(p.lock(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(p.lock())
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another swarmd (pid %s)", p.dir, string(holder))
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return f, nil
}
