package jobstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replication: Redis copies writes to replicas after answering them, so a master that
// dies right after a Create can take the job with it, though the caller was told
// about it. With Options.WaitReplicas, Create writes on one connection to the master
// that holds the job and sends WAIT on the same connection: WAIT counts the replicas
// that have every write of its connection.

// writer is what Create writes with: the Store's client, or, when it waits for
// replicas, one connection to the master of key (release returns it to its pool).
func (s *Store) writer(ctx context.Context, key string) (c scripter, release func(), err error) {
	if s.waitReplicas == 0 {
		return s.rdb, func() {}, nil
	}
	var node *redis.Client
	switch rdb := s.rdb.(type) {
	case *redis.ClusterClient:
		if node, err = rdb.MasterForKey(ctx, key); err != nil {
			return nil, nil, fmt.Errorf("jobstore: find the master of %s: %w", key, err)
		}
	case *redis.Client: // one server, or the master a failover client follows
		node = rdb
	default:
		return nil, nil, fmt.Errorf("jobstore: Options.WaitReplicas needs a client of one server, a failover client or a cluster client, not %T", s.rdb)
	}
	conn := node.Conn()
	return conn, func() { _ = conn.Close() }, nil
}

// waitReplicated waits until Options.WaitReplicas replicas have the writes made on
// c, which writer gave; nothing when the Store does not wait.
func (s *Store) waitReplicated(ctx context.Context, c scripter, id string) error {
	conn, ok := c.(*redis.Conn)
	if s.waitReplicas == 0 || !ok {
		return nil
	}
	n, err := conn.Wait(ctx, s.waitReplicas, s.waitTimeout).Result()
	if err != nil {
		return fmt.Errorf("%w: job %s: %w", ErrNotReplicated, id, err)
	}
	if n < int64(s.waitReplicas) {
		return fmt.Errorf("%w: job %s: %d of %d replicas had it after %v", ErrNotReplicated, id, n, s.waitReplicas, s.waitTimeout)
	}
	return nil
}

// notReplicated translates the error of a write refused for want of replicas (the
// server's min-replicas-to-write) into ErrNotReplicated.
func notReplicated(err error) error {
	if err != nil && redis.IsNoReplicasError(err) {
		return fmt.Errorf("%w: %w", ErrNotReplicated, err)
	}
	return err
}

// outcome reports whether a job entering status st has an outcome a caller must not
// lose: the upload recorded, or the job ended.
func outcome(st Status) bool { return st == StatusUploaded || st.Final() }

// writeOutcome runs a job's write script with run. With Options.WaitReplicas and a
// write that records an outcome (wait), it runs on one connection to the job's master
// and waits for the replicas, so that a failover cannot take back an outcome the
// caller was told of: too few replicas is an error wrapping ErrNotReplicated, and the
// caller writes again (a CAS write that did land then finds its own change).
func (s *Store) writeOutcome(ctx context.Context, wait bool, keys []string, run func(scripter) (int, error), id string) (int, error) {
	if !wait || s.waitReplicas == 0 {
		return run(s.rdb)
	}
	c, release, err := s.writer(ctx, keys[0])
	if err != nil {
		return 0, err
	}
	defer release()
	n, err := run(c)
	if err != nil {
		return 0, err
	}
	if n == 1 {
		if err := s.waitReplicated(ctx, c, id); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// confirm waits, when the Store waits for replicas, until they have the writes made
// so far to the master of job id, on whatever connection: WAIT counts what its own
// connection wrote, so it follows a small write of its own to the job's shard.
func (s *Store) confirm(ctx context.Context, id string) error {
	if s.waitReplicas == 0 {
		return nil
	}
	key := shardPrefix(shardOf(id)) + "confirm"
	c, release, err := s.writer(ctx, key)
	if err != nil {
		return err
	}
	defer release()
	if err := c.(*redis.Conn).Set(ctx, key, "1", time.Second).Err(); err != nil {
		return notReplicated(err)
	}
	return s.waitReplicated(ctx, c, id)
}
