package enforcer

import (
	"errors"
	"net/http"
	"strings"
	"sync"

	"xpod.dev/quota-operator/internal/enforcer/usage"
)

// errQuotaExceeded ends the body of an upload without Content-Length that reached the storage
// limit. The transport then aborts the upstream request, so the pod server stores nothing.
var errQuotaExceeded = errors.New("storage quota exceeded")

type writeKind int

const (
	writePut writeKind = iota
	writePost
	writePatch
	writeDelete
)

// classifyWrite returns the kind of a request that can change a pod's storage. Writes to a
// container itself (PUT or PATCH of a path ending in a slash) change no stored resource, since
// containers are not counted.
func classifyWrite(method, path string) (writeKind, bool) {
	container := strings.HasSuffix(path, "/")
	switch method {
	case http.MethodPut:
		return writePut, !container
	case http.MethodPatch:
		return writePatch, !container
	case http.MethodPost:
		return writePost, true
	case http.MethodDelete:
		return writeDelete, true
	default:
		return 0, false
	}
}

// write is the storage side of one write or delete: its reservation while the body streams in
// and its charge once the pod server accepted it.
type write struct {
	kind    writeKind
	ex      *exchange
	enforce bool
	limit   int64
	// oldSize is the recorded size of the resource before the write.
	oldSize int64
	// credit is the number of body bytes that need no reservation, because they replace the old
	// representation of the resource.
	credit int64
	// streaming is set for uploads without Content-Length, which reserve as bytes arrive.
	streaming bool
	unlock    func()
	// deletePaths and deletePrefix select the recorded resources a delete removes, and removed
	// holds the sizes known for them.
	deletePaths  []string
	deletePrefix string
	removed      map[string]int64

	mu         sync.Mutex
	received   int64
	reserved   int64
	exceeded   bool
	rejectView usage.StorageView
	rejectNeed int64
	settled    bool
}

// limitRead shortens p so that an upload without Content-Length reads at most one byte past the
// account's remaining allowance, which stops the upload near the limit instead of reading it all.
func (w *write) limitRead(p []byte) ([]byte, error) {
	if !w.streaming || !w.enforce {
		return p, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.exceeded {
		return nil, errQuotaExceeded
	}
	view := w.ex.srv.ledger.Storage(w.ex.target.AccountID)
	room := w.limit - view.UsedBytes - view.ReservedBytes + (w.credit + w.reserved - w.received)
	if room+1 < int64(len(p)) {
		p = p[:max(room+1, 1)]
	}
	return p, nil
}

// admit reserves storage for n more received bytes of an upload without Content-Length.
func (w *write) admit(n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.received += int64(n)
	if !w.streaming || !w.enforce {
		return nil
	}
	need := w.received - w.credit - w.reserved
	if need <= 0 {
		return nil
	}
	view, ok := w.ex.srv.ledger.Reserve(w.ex.target.AccountID, need, w.limit)
	if !ok {
		w.exceeded, w.rejectView, w.rejectNeed = true, view, w.received-w.credit
		return errQuotaExceeded
	}
	w.reserved += need
	return nil
}

func (w *write) quotaExceeded() (usage.StorageView, int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rejectView, w.rejectNeed, w.exceeded
}

func (w *write) bytesReceived() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.received
}

// takeReservation marks the write as settled and returns its reservation, or false when it
// was settled before.
func (w *write) takeReservation() (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.settled {
		return 0, false
	}
	w.settled = true
	return w.reserved, true
}

// end releases the reservation of a write that was not charged and unlocks the resource.
func (w *write) end() {
	if reserved, ok := w.takeReservation(); ok {
		w.ex.srv.ledger.Release(w.ex.target.AccountID, reserved)
	}
	if w.unlock != nil {
		w.unlock()
	}
}
