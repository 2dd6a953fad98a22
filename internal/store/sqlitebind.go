package store

import (
	"fmt"
	"reflect"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	lib "modernc.org/sqlite/lib"
	zs "zombiezen.com/go/sqlite"
)

// Binding the ingest connection's texts without an allocation each.
//
// zombiezen's BindText allocates C memory for every value, copies the string into
// it byte by byte and gives SQLite a destructor that frees it at the next binding:
// a sixth of the ingest writer's CPU in bench/ingest (1.27 of 7.66 s at 1,000,000
// events), for the 8 to 10 texts of each row of the multi-row inserts. A
// textArena instead copies a statement's texts (with copy: memmove) into C
// buffers it keeps from one statement to the next, and binds them with
// SQLITE_STATIC: no allocation, no free. zombiezen does not export the
// statement's C handle nor its connection's libc TLS, which sqlite3_bind_text
// needs, so they are read from its unexported fields, whose offsets reflect finds
// at start-up; if a version of zombiezen no longer has them, staticBinds is false
// and the arena falls back to BindText (TestSQLiteStaticBinds fails on such an
// upgrade).
//
// SQLITE_STATIC means SQLite reads the bytes where they are whenever it uses the
// binding. Every use of a statement here binds all of its parameters anew before
// its step (each chunk binds every row's values), so the bytes a statement reads
// are always those copied for that step, even though the buffers are reused for
// the next statement right after. A statement whose values lie in an arena is
// never stepped without being bound again.

var (
	stmtHandleOff, stmtConnOff, connTLSOff uintptr
	// staticBinds: the zombiezen fields above were found with the expected types.
	staticBinds bool
)

func init() {
	st, ct := reflect.TypeFor[zs.Stmt](), reflect.TypeFor[zs.Conn]()
	h, ok1 := st.FieldByName("stmt")
	c, ok2 := st.FieldByName("conn")
	t, ok3 := ct.FieldByName("tls")
	staticBinds = ok1 && ok2 && ok3 && h.Type == reflect.TypeFor[uintptr]() &&
		c.Type == reflect.TypeFor[*zs.Conn]() && t.Type == reflect.TypeFor[*libc.TLS]()
	stmtHandleOff, stmtConnOff, connTLSOff = h.Offset, c.Offset, t.Offset
}

// minArenaBlock is the smallest buffer a textArena allocates: a chunk of 256 log
// rows usually fits in one. maxArena bounds what it keeps between statements: a
// statement's texts are at most a chunk's bytes (defaultChunkBytes, 8 MiB, or one
// larger row), but the buffers are filled in order, so statements of changing
// shapes may leave more allocated; past maxArena they are freed at the next begin.
const (
	minArenaBlock = 256 << 10
	maxArena      = 64 << 20
)

// arenaBlock is one buffer of a textArena: C memory (modernc's libc heap, which
// SQLite's code expects and Go's collector does not manage).
type arenaBlock struct {
	base uintptr
	size int
}

// textArena binds the texts of one statement at a time (see above). Its zero value
// is ready; one goroutine at a time (the ingest connection's holder) uses it.
type textArena struct {
	tls    *libc.TLS // the connection's, for sqlite3_bind_text, malloc and free
	blocks []arenaBlock
	size   int   // of all blocks
	cur    int   // the block being filled …
	used   int   // … and its bytes in use
	err    error // the first failure since begin
}

// begin readies a for the texts of st's next step.
func (a *textArena) begin(st *zs.Stmt) {
	a.cur, a.used, a.err = 0, 0, nil
	if a.size > maxArena {
		a.free() // no statement bound from them is stepped again without a new binding
	}
	if staticBinds && a.tls == nil {
		conn := *(**zs.Conn)(unsafe.Add(unsafe.Pointer(st), stmtConnOff))
		a.tls = *(**libc.TLS)(unsafe.Add(unsafe.Pointer(conn), connTLSOff))
	}
}

// bindText binds v to st's parameter p from a's buffers (or with BindText when
// static binding is not available).
func bindText(a *textArena, st *zs.Stmt, p int, v string) {
	if !staticBinds {
		st.BindText(p, v)
		return
	}
	if a.err != nil {
		return
	}
	ptr, ok := a.place(len(v))
	if !ok {
		a.err = fmt.Errorf("store: cannot allocate %d bytes of C memory to bind a value", len(v))
		return
	}
	// unsafe.Add from nil makes a pointer to the C memory without converting the
	// uintptr, which vet cannot tell from a Go pointer's conversion.
	copy(unsafe.Slice((*byte)(unsafe.Add(nil, ptr)), len(v)), v)
	h := *(*uintptr)(unsafe.Add(unsafe.Pointer(st), stmtHandleOff))
	if rc := lib.Xsqlite3_bind_text(a.tls, h, int32(p), ptr, int32(len(v)), 0 /* SQLITE_STATIC */); rc != lib.SQLITE_OK {
		a.err = fmt.Errorf("store: binding a %d-byte text: %w", len(v), zs.ResultCode(rc).ToError())
	}
}

// place returns room for n bytes (at least 1, so that an empty text is not NULL),
// in the current block or a next one, allocated if need be.
func (a *textArena) place(n int) (uintptr, bool) {
	n = max(n, 1)
	for ; a.cur < len(a.blocks); a.cur, a.used = a.cur+1, 0 {
		if b := a.blocks[a.cur]; b.size-a.used >= n {
			a.used += n
			return b.base + uintptr(a.used-n), true
		}
	}
	size := max(n, minArenaBlock)
	base := libc.Xmalloc(a.tls, types.Size_t(size))
	if base == 0 {
		return 0, false
	}
	a.blocks = append(a.blocks, arenaBlock{base: base, size: size})
	a.size += size
	a.cur, a.used = len(a.blocks)-1, n
	return base, true
}

// end returns the first failure since begin, which left st's parameters unbound.
func (a *textArena) end() error { return a.err }

// free releases the buffers, while the connection (and its TLS) is still open;
// no statement bound from them may be stepped again before it is bound anew
// (close finalizes them first; begin precedes every binding).
func (a *textArena) free() {
	for _, b := range a.blocks {
		libc.Xfree(a.tls, b.base)
	}
	a.blocks, a.size = nil, 0
}
