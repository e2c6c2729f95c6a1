<?php
// Queue-payload peer of tests/unit/test_payload_audit.py: the payloads Laravel writes,
// made by real PHP (serialize(), json_encode(), Reflection, openssl through Debian's
// Illuminate\Encryption\Encrypter), for job classes the test generates.
//
//   php queue_payload_peer.php < {"mode", "version": [M, m], "now", "app_key", "cipher",
//                                 "cases": [...]}
//
// mode "real": Debian's Laravel 8.83 itself: Illuminate\Queue\RedisQueue::createPayload()
//   (uuid and id pinned), its Queueable, SerializesModels, InteractsWithQueue, Batchable,
//   ModelIdentifier and Encrypter.
// mode "emu": Laravel M.m as transcribed from laravel/framework 8.x-12.x:
//   Queue::createPayload() (12.11+ "delay" = secondsUntil($delay)),
//   createObjectPayload() (maxTries = $job->tries ?? null before 10.39, getJobTries()
//   from 10.39; "createdAt" 12.11+; data.batchId 12.51+), getJobBackoff(),
//   getJobExpiration(), createStringPayload(), RedisQueue::createPayloadArray() (id,
//   attempts), the Context payload hook of a ShouldBeUnique dispatch (11.39+),
//   UniqueLock::getKey(), SerializesModels::__serialize() (every initialised property
//   before 9.4, properties !== their default from 9.4), Queueable's properties in the
//   version's declaration order (8.x-10.x; 11.x chain settings last; 12.27 group,
//   12.28 messageGroup, 12.32 deduplicator), ModelIdentifier (collectionClass 9.26+)
//   and PendingChain::dispatch().
//
// A case: {"code": PHP class declarations, "build": PHP statements that set $job from
// $v (the case's values), "kind": "object"|"string", "job"/"data" (string jobs),
// "delay": null|int|{"ts": int} (the later()/dispatch() delay), "uuid", "id",
// "created_at", "py": base64 of the Python payload}.
// Answer per case: {"ok", "php": base64 payload, "php_norm", "py_norm" (both with an
// encrypted command decrypted to its serialize() string), "accessors": the Job
// accessors Laravel's worker computes from the PHP payload} or {"ok": false, "error"}.

namespace Peer {
    function env_version(): array
    {
        return $GLOBALS['PEER_VERSION'];
    }

    function at_least(int $major, int $minor): bool
    {
        [$a, $b] = env_version();
        return $a > $major || ($a === $major && $b >= $minor);
    }

    function set(object $job, string $name, $value, ?string $declaring = null): void
    {
        $p = new \ReflectionProperty($declaring ?? get_class($job), $name);
        $p->setAccessible(true);
        $p->setValue($job, $value);
    }

    function queueable_order(): array
    {
        if (! at_least(11, 0)) {
            return ['connection', 'queue', 'chainConnection', 'chainQueue', 'chainCatchCallbacks',
                'delay', 'afterCommit', 'middleware', 'chained'];
        }
        $head = ['connection', 'queue'];
        if (at_least(12, 28)) {
            $head[] = 'messageGroup';
        } elseif (at_least(12, 27)) {
            $head[] = 'group';
        }
        if (at_least(12, 32)) {
            $head[] = 'deduplicator';
        }
        return array_merge($head, ['delay', 'afterCommit', 'middleware', 'chained',
            'chainConnection', 'chainQueue', 'chainCatchCallbacks']);
    }

    function define_emulated_framework(): void
    {
        $props = '';
        foreach (queueable_order() as $name) {
            $props .= "public \$$name".(in_array($name, ['middleware', 'chained']) ? ' = []' : '').";\n";
        }
        eval('namespace Illuminate\Bus; trait Queueable {'.$props.'
            public function onConnection($connection) { $this->connection = $connection; return $this; }
            public function onQueue($queue) { $this->queue = $queue; return $this; }
            public function allOnConnection($connection) { $this->chainConnection = $connection; $this->connection = $connection; return $this; }
            public function allOnQueue($queue) { $this->chainQueue = $queue; $this->queue = $queue; return $this; }
            public function delay($delay) { $this->delay = $delay; return $this; }
            public function chain($chain) { $this->chained = array_map(fn ($job) => serialize($job), $chain); return $this; }
        }
        trait Batchable { public $batchId; public function withBatchId(string $batchId) { $this->batchId = $batchId; return $this; } }');
        eval('namespace Illuminate\Queue; trait InteractsWithQueue { public $job; }');
        $omitDefaults = at_least(9, 4) ? 'true' : 'false';
        eval('namespace Illuminate\Queue; trait SerializesModels {
            public function __serialize() {
                $values = [];
                $class = get_class($this);
                foreach ((new \ReflectionClass($this))->getProperties() as $property) {
                    if ($property->isStatic()) { continue; }
                    $property->setAccessible(true);
                    if (! $property->isInitialized($this)) { continue; }
                    $value = $property->getValue($this);
                    if ('.$omitDefaults.' && $property->hasDefaultValue() && $value === $property->getDefaultValue()) { continue; }
                    $name = $property->getName();
                    if ($property->isPrivate()) { $name = "\0{$class}\0{$name}"; }
                    elseif ($property->isProtected()) { $name = "\0*\0{$name}"; }
                    $values[$name] = $value;
                }
                return $values;
            }
        }');
        $collection = at_least(9, 26) ? 'public $collectionClass;' : '';
        eval('namespace Illuminate\Contracts\Database; class ModelIdentifier {
            public $class; public $id; public $relations; public $connection; '.$collection.' }');
        eval('namespace Illuminate\Contracts\Queue; interface ShouldQueue {} interface ShouldBeEncrypted {} interface ShouldBeUnique {}');
    }

    function seconds_until($delay, int $now): int
    {
        return $delay instanceof \DateTimeInterface ? max(0, $delay->getTimestamp() - $now) : (int) $delay;
    }

    function job_backoff($job, int $now)
    {
        if (! method_exists($job, 'backoff') && ! isset($job->backoff)) {
            return null;
        }
        if (is_null($backoff = $job->backoff ?? $job->backoff())) {
            return null;
        }
        return implode(',', array_map(
            fn ($b) => $b instanceof \DateTimeInterface ? seconds_until($b, $now) : $b,
            is_array($backoff) ? $backoff : [$backoff]
        ));
    }

    function job_expiration($job)
    {
        if (! method_exists($job, 'retryUntil') && ! isset($job->retryUntil)) {
            return null;
        }
        $expiration = $job->retryUntil ?? $job->retryUntil();
        return $expiration instanceof \DateTimeInterface ? $expiration->getTimestamp() : $expiration;
    }

    function job_tries($job)
    {
        if (! at_least(10, 39)) {
            return $job->tries ?? null;
        }
        if (! method_exists($job, 'tries') && ! isset($job->tries)) {
            return null;
        }
        return $job->tries ?? $job->tries();
    }

    function unique_key($job): string
    {
        $uniqueId = method_exists($job, 'uniqueId') ? $job->uniqueId() : ($job->uniqueId ?? '');
        $name = get_class($job);
        if (method_exists($job, 'displayName') && at_least(12, 54)) {
            $name = hash('xxh128', $job->displayName());
        } elseif (method_exists($job, 'displayName') && at_least(12, 41)) {
            $name = $job->displayName();
        }
        return 'laravel_unique_job:'.$name.(at_least(11, 0) ? ':' : '').$uniqueId;
    }

    function hooks(array $payload, $job): array
    {
        if (is_object($job) && $job instanceof \Illuminate\Contracts\Queue\ShouldBeUnique && at_least(11, 39)) {
            $payload = array_merge($payload, ['illuminate:log:context' => [
                'data' => [],
                'hidden' => [
                    'laravel_unique_job_cache_store' => serialize('redis'),
                    'laravel_unique_job_key' => serialize(unique_key($job)),
                ],
            ]]);
        }
        return $payload;
    }

    function emulated_payload($job, $data, $delay, array $case, int $now): string
    {
        if (is_object($job)) {
            $payload = [
                'uuid' => $case['uuid'],
                'displayName' => method_exists($job, 'displayName') ? $job->displayName() : get_class($job),
                'job' => 'Illuminate\Queue\CallQueuedHandler@call',
                'maxTries' => job_tries($job),
                'maxExceptions' => $job->maxExceptions ?? null,
                'failOnTimeout' => $job->failOnTimeout ?? false,
                'backoff' => job_backoff($job, $now),
                'timeout' => $job->timeout ?? null,
                'retryUntil' => job_expiration($job),
                'data' => ['commandName' => $job, 'command' => $job],
            ];
            if (at_least(12, 51)) {
                $payload['data']['batchId'] = $job->batchId ?? null;
            }
            if (at_least(12, 11)) {
                $payload['createdAt'] = $case['created_at'];
            }
            $payload = hooks($payload, $job);
            $command = serialize(clone $job);  // encrypted commands are compared decrypted
            $payload = array_merge($payload, ['data' => array_merge($payload['data'], [
                'commandName' => get_class($job), 'command' => $command,
            ])]);
        } else {
            $payload = hooks([
                'uuid' => $case['uuid'],
                'displayName' => explode('@', $job)[0],
                'job' => $job,
                'maxTries' => null,
                'maxExceptions' => null,
                'failOnTimeout' => false,
                'backoff' => null,
                'timeout' => null,
                'data' => $data,
            ] + (at_least(12, 11) ? ['createdAt' => $case['created_at']] : []), $job);
        }
        $payload = array_merge($payload, ['id' => $case['id'], 'attempts' => 0]);
        if (at_least(12, 11)) {
            $payload['delay'] = isset($delay) ? seconds_until($delay, $now) : null;
        }
        $json = json_encode($payload, JSON_UNESCAPED_UNICODE);
        if (json_last_error() !== JSON_ERROR_NONE) {
            throw new \RuntimeException('Unable to JSON encode payload. Error ('.json_last_error().'): '.json_last_error_msg());
        }
        return $json;
    }

    // The command as its serialize() string, and the payload re-encoded around it.
    function normalize(string $payload, $encrypter): string
    {
        $decoded = json_decode($payload, true, 512, JSON_THROW_ON_ERROR);
        $command = $decoded['data']['command'] ?? null;
        if (is_string($command) && ! str_starts_with($command, 'O:')) {
            $decoded['data']['command'] = $encrypter->decrypt($command, true);
        }
        return json_encode($decoded, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
    }

    // What Laravel's Job / Worker read from a payload (Jobs/Job.php, JobName::resolve,
    // Worker::calculateBackoff with --backoff=0).
    function accessors(string $payload): array
    {
        $p = json_decode($payload, true);
        $backoff = $p['backoff'] ?? $p['delay'] ?? null;
        $pieces = explode(',', $backoff ?? '0');
        $per = [];
        foreach ([1, 2, 3, 4, 7] as $attempts) {
            $per[] = (int) ($pieces[$attempts - 1] ?? end($pieces));
        }
        return [
            'uuid' => $p['uuid'] ?? null,
            'id' => $p['id'] ?? null,
            'name' => ! empty($p['displayName']) ? $p['displayName'] : $p['job'],
            'job' => $p['job'],
            'maxTries' => $p['maxTries'] ?? null,
            'maxExceptions' => $p['maxExceptions'] ?? null,
            'failOnTimeout' => $p['failOnTimeout'] ?? false,
            'timeout' => $p['timeout'] ?? null,
            'retryUntil' => $p['retryUntil'] ?? $p['timeoutAt'] ?? null,
            'attempts' => ($p['attempts'] ?? 0) + 1,
            'backoff' => $per,
            'createdAt' => $p['createdAt'] ?? null,
            'commandName' => $p['data']['commandName'] ?? null,
            'batchId' => $p['data']['batchId'] ?? null,
        ];
    }
}

namespace {
    set_error_handler(function ($no, $str, $file, $line) {
        throw new \ErrorException($str, 0, $no, $file, $line);
    });

    $input = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
    $GLOBALS['PEER_VERSION'] = $input['version'];
    $now = (int) $input['now'];

    require_once 'Illuminate/Support/autoload.php';
    require_once 'Illuminate/Encryption/autoload.php';
    \Illuminate\Support\Carbon::setTestNow(\Illuminate\Support\Carbon::createFromTimestamp($now));
    $key = $input['app_key'];
    if (str_starts_with($key, 'base64:')) {
        $key = base64_decode(substr($key, 7));
    }
    $encrypter = new \Illuminate\Encryption\Encrypter($key, $input['cipher']);

    if ($input['mode'] === 'real') {
        require_once 'Illuminate/Container/autoload.php';
        require_once 'Illuminate/Bus/autoload.php';
        require_once 'Illuminate/Queue/autoload.php';
        require_once 'Illuminate/Redis/autoload.php';

        class PeerRedis implements \Illuminate\Contracts\Redis\Factory
        {
            public function connection($name = null)
            {
                throw new \LogicException('the peer does not talk to Redis');
            }
        }

        class PeerQueue extends \Illuminate\Queue\RedisQueue
        {
            public $nextId;

            protected function getRandomId()
            {
                return $this->nextId;
            }

            public function make($job, $queue, $data)
            {
                return $this->createPayload($job, $queue, $data);
            }
        }

        $container = new \Illuminate\Container\Container();
        $container->instance(\Illuminate\Contracts\Encryption\Encrypter::class, $encrypter);
        $queue = new PeerQueue(new PeerRedis());
        $queue->setContainer($container);
    } else {
        \Peer\define_emulated_framework();
    }

    eval('namespace App\Enums;
        enum Status: string { case Draft = "draft"; case Paid = "paid"; }
        enum Level: int { case Low = 1; case High = 2; }
        enum Suit { case Hearts; case Spades; }');

    $out = [];
    foreach ($input['cases'] as $case) {
        try {
            $v = unserialize(base64_decode($case['values']));
            if ($case['kind'] === 'string') {
                $job = $case['job'];
                $data = $v;
            } else {
                eval($case['code']);
                $job = null;
                $data = '';
                eval($case['build']);
            }
            $delay = $case['delay'];
            if (is_array($delay)) {
                $delay = \Illuminate\Support\Carbon::createFromTimestamp($delay['ts']);
            }
            if ($input['mode'] === 'real') {
                \Illuminate\Support\Str::createUuidsUsing(fn () => $case['uuid']);
                $queue->nextId = $case['id'];
                $php = $queue->make($job, 'default', $data);
            } else {
                $php = \Peer\emulated_payload($job, $data, $delay, $case, $now);
            }
            $py = base64_decode($case['py']);
            $out[] = [
                'ok' => true,
                'php' => base64_encode($php),
                'php_norm' => base64_encode(\Peer\normalize($php, $encrypter)),
                'py_norm' => base64_encode(\Peer\normalize($py, $encrypter)),
                'accessors' => \Peer\accessors($php),
            ];
        } catch (\Throwable $e) {
            $out[] = ['ok' => false, 'error' => get_class($e).': '.$e->getMessage()];
        }
    }
    echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";
}
