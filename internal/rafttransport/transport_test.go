package rafttransport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// peer is a transport that hands what it receives to channels.
type peer struct {
	tr      raftio.ITransport
	batches chan pb.MessageBatch
	chunks  chan pb.Chunk
}

func startPeer(t *testing.T, addr string, acceptChunks bool) *peer {
	t.Helper()
	p := &peer{batches: make(chan pb.MessageBatch, 16), chunks: make(chan pb.Chunk, 16)}
	nhc := config.NodeHostConfig{RaftAddress: addr}
	p.tr = Factory{}.Create(nhc, func(b pb.MessageBatch) { p.batches <- b }, func(c pb.Chunk) bool {
		p.chunks <- c
		return acceptChunks
	})
	if err := p.tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.tr.Close() })
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func batch(term uint64) pb.MessageBatch {
	return pb.MessageBatch{DeploymentId: 7, SourceAddress: "a", Requests: []pb.Message{{Type: pb.Heartbeat, To: 2, From: 1, ShardID: 1, Term: term}}}
}

func recv[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
	var zero T
	return zero
}

// TestRestartedPeer is why this package exists: after the peer restarts,
// the very first batch sent on the old connection reaches the new
// process.
func TestRestartedPeer(t *testing.T) {
	addrB := freeAddr(t)
	a := startPeer(t, freeAddr(t), true)
	b := startPeer(t, addrB, true)
	c, err := a.tr.GetConnection(context.Background(), addrB)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMessageBatch(batch(1)); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, b.batches); got.Requests[0].Term != 1 || got.DeploymentId != 7 {
		t.Fatalf("received %+v", got)
	}

	b.tr.Close()
	time.Sleep(50 * time.Millisecond) // the close reaches the sender's reader
	b2 := startPeer(t, addrB, true)
	if err := c.SendMessageBatch(batch(2)); err != nil {
		t.Fatalf("first send after the restart: %v", err)
	}
	if got := recv(t, b2.batches); got.Requests[0].Term != 2 {
		t.Fatalf("received %+v", got)
	}
}

func TestChunks(t *testing.T) {
	addr := freeAddr(t)
	b := startPeer(t, addr, false)
	a := startPeer(t, freeAddr(t), true)
	sc, err := a.tr.GetSnapshotConnection(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	data := bytes.Repeat([]byte("snap"), 1<<16)
	if err := sc.SendChunk(pb.Chunk{ShardID: 1, ReplicaID: 2, ChunkId: 0, ChunkCount: 1, Data: data}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, b.chunks); got.ShardID != 1 || !bytes.Equal(got.Data, data) {
		t.Fatalf("chunk %d bytes for shard %d", len(got.Data), got.ShardID)
	}
}

// TestGarbage sends frames a peer must not: the connection is dropped and
// the transport serves the next one.
func TestGarbage(t *testing.T) {
	addr := freeAddr(t)
	b := startPeer(t, addr, true)
	for _, frame := range [][]byte{
		{9, 0, 0, 0, 1, 0},                        // unknown kind
		{kindBatch, 0, 0, 0, 3, 0xff, 0xff, 0xff}, // not a batch
		binary.BigEndian.AppendUint32([]byte{kindChunk}, maxFrame+1),
		{kindBatch, 0, 0}, // cut short
	} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(frame)
		nc.(*net.TCPConn).CloseWrite() // a frame cut short ends there
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("frame %x: the connection stays open", frame)
		}
		nc.Close()
	}
	a := startPeer(t, freeAddr(t), true)
	c, err := a.tr.GetConnection(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMessageBatch(batch(3)); err != nil {
		t.Fatal(err)
	}
	recv(t, b.batches)
}

func TestValidate(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:2378": true, "host:1": true, "nope": false, ":1": false, "h:": false} {
		if got := (Factory{}).Validate(addr); got != want {
			t.Errorf("Validate(%q) = %t", addr, got)
		}
	}
}

func TestDialRefused(t *testing.T) {
	a := startPeer(t, freeAddr(t), true)
	if _, err := a.tr.GetConnection(context.Background(), freeAddr(t)); err == nil {
		t.Fatal("connected to nothing")
	}
}
