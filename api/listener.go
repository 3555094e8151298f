package api

import (
	"net"
	"sync"
)

// silentConns wraps the API's listener to remember the connections that
// have not sent a byte yet. fasthttp marks a new connection active before
// its first request arrives, so a client that dials and then sends nothing
// holds a graceful shutdown until ReadTimeout: Go's http.Transport does
// exactly that when a pooled connection frees up before its new dial
// completes, and keeps the unused connection. Shutdown closes these
// connections: none of them carries a request.
type silentConns struct {
	net.Listener
	mu    sync.Mutex
	conns map[*watchedConn]struct{}
}

func newSilentConns(ln net.Listener) *silentConns {
	return &silentConns{Listener: ln, conns: map[*watchedConn]struct{}{}}
}

func (l *silentConns) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	wc := &watchedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[wc] = struct{}{}
	l.mu.Unlock()
	return wc, nil
}

// closeSilent closes the connections that have not sent a byte.
func (l *silentConns) closeSilent() {
	l.mu.Lock()
	silent := make([]*watchedConn, 0, len(l.conns))
	for c := range l.conns {
		silent = append(silent, c)
	}
	l.mu.Unlock()
	for _, c := range silent {
		first := false
		c.spoke.Do(func() { first = true; c.forget() })
		if first { // still silent (a request racing this is cut, as at any shutdown)
			_ = c.Conn.Close()
		}
	}
}

type watchedConn struct {
	net.Conn
	l     *silentConns
	spoke sync.Once // done once the conn sent a byte, was closed, or was found silent
}

func (c *watchedConn) forget() {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.spoke.Do(c.forget)
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.spoke.Do(c.forget)
	return c.Conn.Close()
}
