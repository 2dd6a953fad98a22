package store

import (
	"context"
	"sync"
)

// background runs work in its own goroutine each time it is prompted; prompts that
// arrive while work runs are coalesced into one more run.
type background struct {
	prompt chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startBackground(work func(ctx context.Context)) *background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{prompt: make(chan struct{}, 1), cancel: cancel}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-b.prompt:
			}
			work(ctx)
		}
	}()
	return b
}

// kick asks for a run soon; it never blocks. A nil background (MySQL has none)
// ignores it.
func (b *background) kick() {
	if b == nil {
		return
	}
	select {
	case b.prompt <- struct{}{}:
	default:
	}
}

// stop cancels the run under way, if any, and waits for it to return.
func (b *background) stop() {
	b.cancel()
	b.wg.Wait()
}
