// Package bus owns Herald's wiring of watermill to Redis Streams: the Redis
// client, publishers and subscribers configured against the library's
// pitfalls (stable consumer names, bounded stream length, no hot Nack loop,
// shutdown-aware first read), the pipelined publisher and the batch
// consumer-group subscriber that projectors use (both speak
// watermill-redisstream's format), the trimming of streams to what the
// consumer groups still need, topic naming with a per-deployment
// prefix, and the message that announces a stored event (its id, type and
// place in commit order; consumers read the event from the store).
package bus
