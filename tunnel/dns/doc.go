// Package dns is the name server inside a task's network namespace, like
// Docker's embedded DNS: it answers the names of the services and tasks on
// the task's overlay networks and forwards every other name to the host's
// resolvers.
//
// Names, as resolved by Table (or by any Lookup the owner supplies):
//
//	SERVICE          every running task of the service, in random order
//	tasks.SERVICE    the same set
//	SERVICE.SLOT     the task in that slot of a replicated service
//	TASK-NAME        that task (e.g. web.1.x7f3k2)
//
// The Server lowercases the name and drops its trailing dot before the
// lookup; a name Lookup does not know is tried again without Config.Domain
// and without each Config.Search suffix, because a stub resolver appends its
// search domains to short names. A name that is still unknown gets NXDOMAIN
// when it lies in Config.Domain and is forwarded otherwise.
//
// Answers: A records for the IPv4 addresses, AAAA for IPv6 ones; a known
// name with no address of the asked type, or asked with another type, gets
// an empty NOERROR answer (NODATA), never a forward, so internal names do
// not leak upstream. Records have TTL Config.TTL, 0 by default: the set
// changes on every scale or rolling update and round robin works only if
// clients ask again (Docker's embedded DNS uses 600 s). A UDP answer that
// does not fit 512 bytes, or the EDNS0 size the client advertises (at most
// 4096), carries the records that fit and the TC bit, so the client can
// retry over TCP.
//
// Forwarding relays the client's query bytes to the upstream resolvers in
// order, each under its own fresh ID on a fresh socket and with
// Config.ForwardTimeout, and relays the first reply that matches (ID,
// response bit, question) with the client's ID put back; when none answers
// the client gets SERVFAIL. Queries arriving over TCP are forwarded over
// TCP.
//
// The codec (ParseHeader, ParseQuery, AppendQuery, AppendResponse,
// AppendError) is the subset of RFC 1035 and RFC 6891 a responder needs:
// one question, uncompressed (a compression pointer in a question is
// rejected; in other records it is skipped, never followed), an OPT record
// in the additional section. It never panics; malformed input is a
// *ParseError wrapping one of the Err sentinels.
//
// The package owns its sockets, goroutines and counters, nothing else: the
// names come from Config.Lookup, the sockets from the caller (Serve and
// ServeTCP take ownership of them) and it never logs; Stats counts.
//
// Concurrency: every Server method is safe for concurrent use. Each Serve
// call reads its socket in one goroutine and answers local names inline;
// a forwarded UDP query runs in a goroutine of its own, at most
// Config.MaxForwards at once (beyond that, SERVFAIL). ServeTCP serves each
// connection in its own goroutine, one query at a time. Lookup is called
// from all of them at once. Close closes every socket, cancels the
// forwards and waits for every goroutine.
package dns
