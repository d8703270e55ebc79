package provider

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// hangingSource blocks until its context ends, as a hung credential
// helper does until it is killed, and counts the lookups that saw the
// cancellation.
type hangingSource struct {
	name      string
	cancelled atomic.Int32
}

func (h *hangingSource) Name() string { return h.name }
func (h *hangingSource) Lookup(ctx context.Context, _ string) (Result, error) {
	<-ctx.Done()
	h.cancelled.Add(1)
	return Result{}, ctx.Err()
}

// slowSource answers after a delay, unless cancelled first.
type slowSource struct {
	name  string
	after time.Duration
	res   Result
	calls atomic.Int32
}

func (s *slowSource) Name() string { return s.name }
func (s *slowSource) Lookup(ctx context.Context, _ string) (Result, error) {
	s.calls.Add(1)
	select {
	case <-time.After(s.after):
		return s.res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// However many sources hang, the answer comes at the deadline, from the
// first source that answered, and the hung ones are cut short and
// cancelled before Resolve returns.
func TestResolveAnswersAtTheDeadline(t *testing.T) {
	for _, hung := range []int{1, 3, 20} {
		t.Run(fmt.Sprint(hung), func(t *testing.T) {
			var sources []Source
			var hangs []*hangingSource
			for i := 0; i < hung; i++ {
				h := &hangingSource{name: fmt.Sprintf("hung-%d", i)}
				hangs = append(hangs, h)
				sources = append(sources, h)
			}
			sources = append(sources, &fakeSource{name: "file", res: Result{Credentials: creds("r.io")}}, &fakeSource{name: "later", res: Result{Credentials: creds("r.io")}})
			s := &Store{Sources: sources, CacheDuration: time.Minute}
			deadline := time.Duration(hung)*HedgeAfter + time.Second
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			a := s.Resolve(ctx, "r.io/app")
			took := time.Since(start)
			if a.Source != "file" || len(a.Credentials) != 1 {
				t.Fatalf("answer from %q: %+v", a.Source, a)
			}
			if took < deadline-50*time.Millisecond || took > deadline+reapGrace {
				t.Errorf("answered after %s; deadline %s", took, deadline)
			}
			if len(a.Steps) != hung+1 {
				t.Fatalf("steps %+v", a.Steps)
			}
			for i, st := range a.Steps[:hung] {
				if !errors.Is(st.Err, ErrCutShort) || st.Source != hangs[i].name {
					t.Errorf("step %d: %+v, want cut short", i, st)
				}
			}
			// An answer given while a source failed is not cached.
			if a.CacheDuration != 0 {
				t.Errorf("cacheDuration %s", a.CacheDuration)
			}
			for _, h := range hangs {
				if h.cancelled.Load() != 1 {
					t.Errorf("%s was not cancelled before Resolve returned", h.name)
				}
			}
		})
	}
}

// First-source-wins holds for what answers before the deadline: a slow
// first source that answers in time wins over a fast later one, which was
// only started alongside it.
func TestResolveKeepsOrderWithinTheDeadline(t *testing.T) {
	slow := &slowSource{name: "slow", after: 3 * HedgeAfter, res: Result{Credentials: creds("r.io")}}
	fast := &slowSource{name: "fast", res: Result{Credentials: creds("r.io/x")}}
	s := &Store{Sources: []Source{slow, fast}, CacheDuration: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := s.Resolve(ctx, "r.io/x/app")
	if a.Source != "slow" || len(a.Steps) != 1 || a.CacheDuration != time.Minute {
		t.Errorf("answer from %q, steps %+v, cacheDuration %s", a.Source, a.Steps, a.CacheDuration)
	}
	if fast.calls.Load() != 1 {
		t.Errorf("the later source was asked %d times, want 1 (started alongside the slow one)", fast.calls.Load())
	}
}

// Sources that answer quickly are asked one after another: a later source
// is not asked when an earlier one answers (no helper runs that the answer
// does not need).
func TestResolveAsksNoMoreThanNeeded(t *testing.T) {
	first := &slowSource{name: "first", after: HedgeAfter / 10, res: Result{Credentials: creds("r.io")}}
	second := &slowSource{name: "second", res: Result{Credentials: creds("r.io")}}
	a := (&Store{Sources: []Source{first, second}}).Resolve(context.Background(), "r.io/app")
	if a.Source != "first" || second.calls.Load() != 0 {
		t.Errorf("answer from %q; second asked %d times", a.Source, second.calls.Load())
	}
}

// A deadline that passed before the run began still gives an answer that
// says so, without consulting anything.
func TestResolveAfterTheDeadline(t *testing.T) {
	f := &fakeSource{name: "file", res: Result{Credentials: creds("r.io")}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := (&Store{Sources: []Source{f}}).Resolve(ctx, "r.io/app")
	if len(a.Credentials) != 0 || f.calls != 0 || len(a.Steps) != 1 || a.Steps[0].Result.Notes[0] != "not consulted: the run's deadline had passed" {
		t.Errorf("%+v, calls %d", a, f.calls)
	}
}
