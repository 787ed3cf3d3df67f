package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultLeaseTTL is how long a connection lease lasts unless renewed: a
// process killed while connected frees its connections' places within it.
const DefaultLeaseTTL = 30 * time.Second

// SharedConnections caps the SMTP connections every sender process of an
// instance holds open together, so N senders against one relay stay within
// the relay's connection limit, not N times it. Each open connection holds
// a lease: a member of one sorted set in Redis whose score is the lease's
// expiry on Redis's clock. A lease is taken in one atomic script that first
// drops the expired ones, renewed every third of its TTL while the
// connection is open, and removed when the connection closes; a process
// that dies without removing its leases loses them when they expire.
type SharedConnections struct {
	rdb       redis.Cmdable
	key       string
	wantedKey string
	max       int
	ttl       time.Duration
	owner     string // the start of every lease id: host and process
}

// takeScript takes (or renews) lease ARGV[3] when it is held already or
// fewer than ARGV[1] unexpired leases are, for ARGV[2] milliseconds: 1, or
// 0 when the cap is reached. A refused taker with ARGV[4] = "1" marks
// KEYS[2] for a lease's time, telling the holders that someone waits.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  if ARGV[4] == '1' then redis.call('SET', KEYS[2], '1', 'PX', ttl) end
  return 0
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`)

// heldScript counts the unexpired leases.
var heldScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.0f', now), '+inf')
`)

// NewSharedConnections returns a cap of limit connections for everyone using
// key on rdb (the sender builds the key from BUS_TOPIC_PREFIX, which names
// an instance); ttl is a lease's life without renewal, DefaultLeaseTTL
// when 0.
func NewSharedConnections(rdb redis.Cmdable, key string, limit int, ttl time.Duration) (*SharedConnections, error) {
	if rdb == nil {
		return nil, errors.New("mail: shared connections need a Redis client")
	}
	if key == "" {
		return nil, errors.New("mail: shared connections need a key")
	}
	if limit <= 0 {
		return nil, fmt.Errorf("SEND_CONNECTIONS: a shared cap needs a positive number of connections, got %d", limit)
	}
	if ttl == 0 {
		ttl = DefaultLeaseTTL
	}
	// Redis counts in milliseconds, and the lease is renewed every third.
	if ttl < 30*time.Millisecond {
		return nil, fmt.Errorf("mail: a connection lease of %s is too short", ttl)
	}
	host, _ := os.Hostname()
	return &SharedConnections{rdb: rdb, key: key, wantedKey: key + ":wanted", max: limit, ttl: ttl,
		owner: host + "-" + strconv.Itoa(os.Getpid()) + "-"}, nil
}

// Max is the most connections the instance holds open at once.
func (s *SharedConnections) Max() int { return s.max }

// TTL is a lease's life without renewal.
func (s *SharedConnections) TTL() time.Duration { return s.ttl }

// TryAcquire takes a lease for one more connection, renewed until Close;
// nil (and no error) when max are held already, which also tells the
// holders that someone waits (see Wanted).
func (s *SharedConnections) TryAcquire(ctx context.Context) (*ConnLease, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := s.owner + hex.EncodeToString(b[:])
	ok, err := s.take(ctx, id, true)
	if err != nil || !ok {
		return nil, err
	}
	l := &ConnLease{s: s, id: id, stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew()
	return l, nil
}

// Wanted reports whether a taker was refused within the last lease TTL:
// a holder with idle connections should then close them.
func (s *SharedConnections) Wanted(ctx context.Context) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.wantedKey).Result()
	if err != nil {
		return false, fmt.Errorf("send connections: %w", err)
	}
	return n > 0, nil
}

// Held is how many unexpired leases there are, across every process.
func (s *SharedConnections) Held(ctx context.Context) (int, error) {
	n, err := heldScript.Run(ctx, s.rdb, []string{s.key}).Int()
	if err != nil {
		return 0, fmt.Errorf("send connections: %w", err)
	}
	return n, nil
}

func (s *SharedConnections) take(ctx context.Context, id string, flag bool) (bool, error) {
	f := "0"
	if flag {
		f = "1"
	}
	n, err := takeScript.Run(ctx, s.rdb, []string{s.key, s.wantedKey}, s.max, s.ttl.Milliseconds(), id, f).Int()
	if err != nil {
		return false, fmt.Errorf("send connections: %w", err)
	}
	return n == 1, nil
}

// ConnLease is one connection's place under a SharedConnections cap. It is
// renewed in the background until Close.
type ConnLease struct {
	s    *SharedConnections
	id   string
	lost atomic.Bool
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// ID names the lease in Redis: host, process id and a random part.
func (l *ConnLease) ID() string { return l.id }

// Lost reports that the last renewal found the lease expired and its place
// taken (Redis unreachable for longer than the TTL, or the process
// stalled): its connection should close as soon as it is idle.
func (l *ConnLease) Lost() bool { return l.lost.Load() }

// Close stops renewing and gives the place back. Calling it again does
// nothing.
func (l *ConnLease) Close() error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), l.s.ttl/3)
		defer cancel()
		if e := l.s.rdb.ZRem(ctx, l.s.key, l.id).Err(); e != nil {
			err = fmt.Errorf("send connections: release: %w", e)
		}
	})
	return err
}

// renew extends the lease every third of its TTL; a lease that expired
// meanwhile is taken again if there is room, and is lost otherwise. A
// failed renewal is tried again at the next tick: two in a row may fail
// before the lease expires.
func (l *ConnLease) renew() {
	defer close(l.done)
	every := l.s.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		ok, err := l.s.take(ctx, l.id, false)
		cancel()
		if err == nil {
			l.lost.Store(!ok)
		}
	}
}
