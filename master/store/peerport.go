package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// handshakeTimeout bounds a TLS handshake on the Raft port, so that a peer that connects and
// says nothing holds nothing for long.
const handshakeTimeout = 10 * time.Second

// tlsStreamLayer is the Raft transport's stream layer over TLS: every connection, accepted or
// dialled, completes a mutual handshake before a byte of Raft's RPCs is read or written. A
// peer without the cluster's certificate or key gets a closed connection and reaches nothing.
type tlsStreamLayer struct {
	net.Listener
	advertise net.Addr
	server    *tls.Config
	client    *tls.Config
}

// Accept hands the connection to the transport at once; its handshake runs on the transport's
// per-connection goroutine (first read), so a slow stranger never stalls the accept loop.
func (l *tlsStreamLayer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakeConn{Conn: tls.Server(c, l.server)}, nil
}

// Addr is the address advertised to peers.
func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

// Dial connects to a peer and completes the handshake within timeout.
func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialTLS(ctx, string(address), l.client)
}

func dialTLS(ctx context.Context, address string, conf *tls.Config) (*tls.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("raft peer address %q: %w", address, err)
	}
	conf = conf.Clone()
	if conf.ServerName == "" {
		conf.ServerName = host
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{}, Config: conf}
	c, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("connect to raft peer %s: %w", address, err)
	}
	return c.(*tls.Conn), nil
}

// handshakeConn is an accepted TLS connection whose handshake, run by the first read or write,
// must finish within handshakeTimeout.
type handshakeConn struct {
	*tls.Conn
	once sync.Once
	err  error
}

func (c *handshakeConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		defer cancel()
		c.err = c.Conn.HandshakeContext(ctx)
	})
	return c.err
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *handshakeConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// newTransport listens for Raft on cfg.BindAddr: over TLS when cfg has peer TLS, plain TCP
// otherwise. It returns the transport and the probe that checks a peer's Raft port the same way.
func newTransport(cfg Config, advertise *net.TCPAddr, logger hclog.Logger) (*raft.NetworkTransport, func(context.Context, string) error, error) {
	if cfg.ServerTLS == nil || cfg.ClientTLS == nil {
		trans, err := raft.NewTCPTransportWithLogger(cfg.BindAddr, advertise, 3, 10*time.Second, logger)
		if err != nil {
			return nil, nil, fmt.Errorf("listen for raft on %s: %w", cfg.BindAddr, err)
		}
		return trans, probeTCP, nil
	}
	ln, err := net.Listen("tcp", cfg.BindAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen for raft on %s: %w", cfg.BindAddr, err)
	}
	layer := &tlsStreamLayer{Listener: ln, advertise: advertise, server: cfg.ServerTLS, client: cfg.ClientTLS}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: logger,
	})
	probe := func(ctx context.Context, addr string) error {
		c, err := dialTLS(ctx, addr, cfg.ClientTLS)
		if err != nil {
			return err
		}
		return c.Close()
	}
	return trans, probe, nil
}

// probeTCP checks that something listens at addr (open clusters have nothing to verify).
func probeTCP(ctx context.Context, addr string) error {
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to raft peer %s: %w", addr, err)
	}
	return c.Close()
}
