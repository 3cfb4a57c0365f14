package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
)

// ensureImage makes sure the engine has ref: a local image is used as it
// is, without asking a registry; an absent one is pulled. A failed pull is
// an *ImageError.
func (r *Runtime) ensureImage(ctx context.Context, ref string) error {
	_, err := r.cli.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", ref, err)
	}
	rc, err := r.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err == nil {
		err = readPullStream(rc)
		rc.Close()
	}
	if err != nil {
		return &ImageError{Image: ref, Err: err}
	}
	return nil
}

// pullMessage is the part of a pull's progress messages that says whether
// it failed.
type pullMessage struct {
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Error string `json:"error"`
}

// readPullStream reads a pull's progress stream to its end: a pull that
// fails once begun says so in the stream, not in the call's error.
func readPullStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m pullMessage
		err := dec.Decode(&m)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("read pull progress: %w", err)
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return errors.New(m.ErrorDetail.Message)
		case m.Error != "":
			return errors.New(m.Error)
		}
	}
}
