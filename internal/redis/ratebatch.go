package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/telegive/participant-service/internal/ratelimit"
)

// AllowBatch charges every request's budget in one pipeline: one round
// trip for a batch, on a Cluster one per node its keys live on. Each
// request runs the GCRA script of github.com/go-redis/redis_rate (v10),
// on the same key, so a budget is shared with its Allow exactly.
func (l limiter) AllowBatch(ctx context.Context, reqs []ratelimit.Request) ([]ratelimit.Result, error) {
	cmds, err := l.pipeline(ctx, reqs)
	if isNoScript(err) {
		// A Redis that restarted or flushed its scripts: load it and
		// send again. Running the batch twice is safe, since a command
		// refused with NOSCRIPT charged nothing.
		if err := allowScript.Load(ctx, l.rdb).Err(); err != nil {
			return nil, fmt.Errorf("redis: rate limit: load script: %w", err)
		}
		cmds, err = l.pipeline(ctx, reqs)
	}
	if err != nil {
		return nil, fmt.Errorf("redis: rate limit: %w", err)
	}
	out := make([]ratelimit.Result, len(reqs))
	for i, cmd := range cmds {
		if out[i], err = gcraResult(reqs[i].Limit, cmd); err != nil {
			return nil, fmt.Errorf("redis: rate limit: %w", err)
		}
	}
	return out, nil
}

func (l limiter) pipeline(ctx context.Context, reqs []ratelimit.Request) ([]*goredis.Cmd, error) {
	cmds := make([]*goredis.Cmd, len(reqs))
	_, err := l.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, r := range reqs {
			cmds[i] = allowScript.EvalSha(ctx, p, []string{rateKeyPrefix + l.prefix + r.Key},
				r.Limit.Burst, r.Limit.Rate, r.Limit.Period.Seconds(), 1)
		}
		return nil
	})
	return cmds, err
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// gcraResult reads the script's answer as redis_rate's AllowN does.
func gcraResult(l ratelimit.Limit, cmd *goredis.Cmd) (ratelimit.Result, error) {
	v, err := cmd.Slice()
	if err != nil {
		return ratelimit.Result{}, err
	}
	if len(v) != 4 {
		return ratelimit.Result{}, errors.New("unexpected answer of the GCRA script")
	}
	allowed, ok1 := v[0].(int64)
	remaining, ok2 := v[1].(int64)
	retry, ok3 := v[2].(string)
	reset, ok4 := v[3].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return ratelimit.Result{}, errors.New("unexpected answer of the GCRA script")
	}
	retryAfter, err := strconv.ParseFloat(retry, 64)
	if err != nil {
		return ratelimit.Result{}, err
	}
	resetAfter, err := strconv.ParseFloat(reset, 64)
	if err != nil {
		return ratelimit.Result{}, err
	}
	return ratelimit.Result{
		Limit:      l,
		Allowed:    allowed > 0,
		Remaining:  int(remaining),
		RetryAfter: max(seconds(retryAfter), 0),
		ResetAfter: max(seconds(resetAfter), 0),
	}, nil
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// rateKeyPrefix is the prefix redis_rate puts before every key.
const rateKeyPrefix = "rate:"

// allowScript is redis_rate's allowN script, byte for byte (so that both
// share one entry of Redis's script cache), from
// github.com/go-redis/redis_rate v10, Copyright (c) 2013 The
// github.com/go-redis/redis_rate Authors (BSD 2-clause), itself from
// https://github.com/rwz/redis-gcra, Copyright (c) 2017 Pavel Pravosud.
var allowScript = goredis.NewScript(`
-- this script has side-effects, so it requires replicate commands mode
redis.replicate_commands()

local rate_limit_key = KEYS[1]
local burst = ARGV[1]
local rate = ARGV[2]
local period = ARGV[3]
local cost = tonumber(ARGV[4])

local emission_interval = period / rate
local increment = emission_interval * cost
local burst_offset = emission_interval * burst

-- redis returns time as an array containing two integers: seconds of the epoch
-- time (10 digits) and microseconds (6 digits). for convenience we need to
-- convert them to a floating point number. the resulting number is 16 digits,
-- bordering on the limits of a 64-bit double-precision floating point number.
-- adjust the epoch to be relative to Jan 1, 2017 00:00:00 GMT to avoid floating
-- point problems. this approach is good until "now" is 2,483,228,799 (Wed, 09
-- Sep 2048 01:46:39 GMT), when the adjusted value is 16 digits.
local jan_1_2017 = 1483228800
local now = redis.call("TIME")
now = (now[1] - jan_1_2017) + (now[2] / 1000000)

local tat = redis.call("GET", rate_limit_key)

if not tat then
  tat = now
else
  tat = tonumber(tat)
end

tat = math.max(tat, now)

local new_tat = tat + increment
local allow_at = new_tat - burst_offset

local diff = now - allow_at
local remaining = diff / emission_interval

if remaining < 0 then
  local reset_after = tat - now
  local retry_after = diff * -1
  return {
    0, -- allowed
    0, -- remaining
    tostring(retry_after),
    tostring(reset_after),
  }
end

local reset_after = new_tat - now
if reset_after > 0 then
  redis.call("SET", rate_limit_key, new_tat, "EX", math.ceil(reset_after))
end
local retry_after = -1
return {cost, remaining, tostring(retry_after), tostring(reset_after)}
`)
