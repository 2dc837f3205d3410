package enforcer

import (
	"reflect"
	"testing"
	"time"
)

func TestLockSubjectAndAncestors(t *testing.T) {
	cases := []struct {
		path, subject string
		ancestors     []string
	}{
		{"/pod/c/x", "/pod/c/x", []string{"/pod/", "/pod/c/"}},
		{"/pod/c/x.acl", "/pod/c/x", []string{"/pod/", "/pod/c/"}},
		{"/pod/c/x.meta", "/pod/c/x", []string{"/pod/", "/pod/c/"}},
		{"/pod/c/.acl", "/pod/c/", []string{"/pod/"}},
		{"/pod/c/", "/pod/c/", []string{"/pod/"}},
		{"/x", "/x", nil},
	}
	for _, c := range cases {
		subject := lockSubject(c.path)
		if subject != c.subject {
			t.Errorf("lockSubject(%q) = %q, want %q", c.path, subject, c.subject)
		}
		if got := ancestors(subject); !reflect.DeepEqual(got, c.ancestors) {
			t.Errorf("ancestors(%q) = %q, want %q", subject, got, c.ancestors)
		}
	}
}

func TestContainerDeleteWaitsForWritesInside(t *testing.T) {
	locks := newResourceLocks()
	unlockWrite := locks.lock("pod", "/pod/c/x.acl")
	unlockPost := locks.lockShared("pod", "/pod/c/")

	acquired := make(chan struct{})
	go func() {
		unlock := locks.lock("pod", "/pod/c/")
		close(acquired)
		unlock()
	}()
	select {
	case <-acquired:
		t.Fatalf("a container delete got its lock while writes inside it held theirs")
	case <-time.After(50 * time.Millisecond):
	}
	unlockWrite()
	unlockPost()
	select {
	case <-acquired:
	case <-time.After(time.Second):
		t.Fatalf("the container delete did not get its lock after the writes ended")
	}
	if len(locks.locks) != 0 {
		t.Errorf("%d lock entries left after every lock was released", len(locks.locks))
	}
}
