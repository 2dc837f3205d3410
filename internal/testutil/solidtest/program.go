package solidtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// NewPod is CreatePod for programs that are not tests, such as the local development stack: a
// failure comes back as an error instead of failing a test.
func (s *Server) NewPod(name string) (pod Pod, err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		f, ok := r.(programFailure)
		if !ok {
			panic(r)
		}
		err = f.err
	}()
	return s.CreatePod(programTB{}, name), nil
}

// programFailure carries a Fatalf message out of CreatePod.
type programFailure struct{ err error }

// programTB is the part of testing.TB that CreatePod uses, for a program without a test. Fatalf
// panics with a programFailure that NewPod recovers. Methods outside that part are not
// implemented and panic if called.
type programTB struct{ testing.TB }

func (programTB) Helper() {}

func (programTB) Fatalf(format string, args ...any) {
	panic(programFailure{fmt.Errorf(format, args...)})
}

func (programTB) Fatal(args ...any) {
	panic(programFailure{errors.New(fmt.Sprint(args...))})
}

func (programTB) Logf(string, ...any) {}

func (programTB) Context() context.Context { return context.Background() }
