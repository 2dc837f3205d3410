package solid

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var workloadSeed = flag.Uint64("workload.seed", 0,
	"seed of the random workload in TestWorkloadKeepsStorageExact; 0 picks one from the clock")

const (
	workloadClients    = 4
	workloadOperations = 40
)

// workloadKeys is the small key space that the clients share, so their writes, patches and
// deletes often meet on one resource. The sub/ container is deleted now and then, which fails
// with 409 while it contains a document.
var workloadKeys = []string{"w/k0", "w/k1", "w/k2", "w/k3", "w/sub/k0", "w/sub/k1"}

var workloadContainers = []string{"w/", "w/sub/"}

// TestWorkloadKeepsStorageExact runs random concurrent writes, patches, deletes and reads from
// several clients against one pod and then checks that the pod's storage_bytes equals what CSS
// stores and that ingress and egress equal the body bytes the clients sent and read.
func TestWorkloadKeepsStorageExact(t *testing.T) {
	seed := *workloadSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("workload seed %d: replay with -run TestWorkloadKeepsStorageExact -workload.seed=%d", seed, seed)

	e := newEnv(t)
	pod := e.createPod()
	base := e.baseline(pod)

	statuses := newStatusCounts()
	var wg sync.WaitGroup
	for client := range workloadClients {
		random := rand.New(rand.NewPCG(seed, uint64(client)))
		wg.Go(func() {
			for range workloadOperations {
				op := randomOperation(random)
				resp, err := e.try(pod, op.method, op.ref, op.body, op.header...)
				if err != nil {
					t.Errorf("client %d: %s: %v", client, op, err)
					return
				}
				statuses.add(op.name, resp.status)
				// CSS 7.2 returns 501 for a PATCH of a binary document, because it cannot read it as RDF.
				if resp.status >= 500 && !(op.method == http.MethodPatch && resp.status == http.StatusNotImplemented) {
					t.Errorf("client %d: %s returned %d: %s", client, op, resp.status, truncate(resp.body, 300))
				}
			}
		})
	}
	wg.Wait()
	t.Logf("statuses by operation: %s", statuses)

	storage := e.checkUsage(pod, base)
	t.Logf("pod %s ends with %d bytes of documents and ACLs beyond the seeded ones", pod.Name, storage)
	e.checkNoNegativeCounters()
	if t.Failed() {
		t.Logf("replay with -run TestWorkloadKeepsStorageExact -workload.seed=%d", seed)
	}
}

// operation is one request of the workload.
type operation struct {
	name   string
	method string
	ref    string
	body   []byte
	header []string
}

func (o operation) String() string {
	return fmt.Sprintf("%s (%s %s with %d body bytes)", o.name, o.method, o.ref, len(o.body))
}

// randomOperation picks a request: 30% PUT, 10% POST, 20% PATCH, 15% DELETE, 20% GET and 5% HEAD.
func randomOperation(random *rand.Rand) operation {
	key := workloadKeys[random.IntN(len(workloadKeys))]
	container := workloadContainers[random.IntN(len(workloadContainers))]
	switch n := random.IntN(100); {
	case n < 15:
		return operation{name: "PUT Turtle", method: http.MethodPut, ref: key,
			body: randomTurtle(random, 3000), header: []string{"Content-Type", "text/turtle"}}
	case n < 30:
		return operation{name: "PUT binary", method: http.MethodPut, ref: key,
			body: pattern(random.IntN(4000)), header: []string{"Content-Type", binaryType}}
	case n < 40:
		// A Slug that names a key makes the POST race with the other clients' requests on that
		// key. CSS picks a new name when the key exists.
		header := []string{"Content-Type", "text/turtle"}
		if slug, ok := strings.CutPrefix(key, container); ok && !strings.Contains(slug, "/") {
			header = append(header, "Slug", slug)
		}
		return operation{name: "POST", method: http.MethodPost, ref: container,
			body: randomTurtle(random, 1500), header: header}
	case n < 50:
		patch := fmt.Sprintf(`@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:patch a solid:InsertDeletePatch; solid:inserts { <#s%d> <http://example.org/p> "%s". }.
`, random.IntN(1000), randomText(random, 500))
		return operation{name: "PATCH N3", method: http.MethodPatch, ref: key,
			body: []byte(patch), header: []string{"Content-Type", "text/n3"}}
	case n < 60:
		update := fmt.Sprintf(`INSERT DATA { <#s%d> <http://example.org/p> "%s". }`,
			random.IntN(1000), randomText(random, 500))
		return operation{name: "PATCH SPARQL", method: http.MethodPatch, ref: key,
			body: []byte(update), header: []string{"Content-Type", "application/sparql-update"}}
	case n < 72:
		return operation{name: "DELETE document", method: http.MethodDelete, ref: key}
	case n < 75:
		return operation{name: "DELETE container", method: http.MethodDelete, ref: "w/sub/"}
	case n < 90:
		return operation{name: "GET document", method: http.MethodGet, ref: key}
	case n < 95:
		return operation{name: "GET container", method: http.MethodGet, ref: container,
			header: []string{"Accept", "text/turtle"}}
	default:
		return operation{name: "HEAD", method: http.MethodHead, ref: key}
	}
}

// randomTurtle returns a valid Turtle document with a literal of up to maxText letters.
func randomTurtle(random *rand.Rand, maxText int) []byte {
	return []byte(fmt.Sprintf("<#item> <http://purl.org/dc/terms/description> %q.\n",
		randomText(random, random.IntN(maxText+1))))
}

func randomText(random *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz "
	var b strings.Builder
	for range n {
		b.WriteByte(letters[random.IntN(len(letters))])
	}
	return b.String()
}

// statusCounts counts response codes by operation name for the test log.
type statusCounts struct {
	mu     sync.Mutex
	counts map[string]map[int]int
}

func newStatusCounts() *statusCounts {
	return &statusCounts{counts: map[string]map[int]int{}}
}

func (s *statusCounts) add(name string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts[name] == nil {
		s.counts[name] = map[int]int{}
	}
	s.counts[name][status]++
}

func (s *statusCounts) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for name, byStatus := range s.counts {
		var codes []string
		for status, n := range byStatus {
			codes = append(codes, fmt.Sprintf("%d×%d", n, status))
		}
		sort.Strings(codes)
		parts = append(parts, name+": "+strings.Join(codes, " "))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
