<?php
// Live Laravel 8.83 queue peer (Debian php-illuminate-*): Illuminate\Queue\RedisQueue on
// Illuminate\Redis\RedisManager (phpredis), a Container with the Encrypter and the Bus
// dispatcher, and a real Illuminate\Queue\Worker (no artisan). Used by
// tests/interop/test_queue_dispatch_live.py, the worker tests and benchmarks/queue_push.py.
//
// Environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), REDIS_DB (0), REDIS_PREFIX (""),
//              APP_KEY (base64:...), APP_CIPHER (AES-256-CBC), QUEUE_RETRY_AFTER (90),
//              QUEUE_BLOCK_FOR (unset = null).
//
// Usage: php queue.php <command> [args...]            one command, JSON result on stdout
//        php queue.php batch < [[cmd, args...], ...]  several commands in one process,
//                                                    JSON list of results on stdout
//
// Commands (options are --name=value; --queue defaults to "default"):
//   push <Class> <json constructor args> [--queue=] [--delay=N]
//        Queue::push() / later() of App\Jobs\<Class> (classes below); {"id", "payload"}
//   dispatch <Class> <json args> [--queue=] [--delay=N]
//        Bus-style: onQueue()/delay() set on the job, then push/later; {"id", "payload"}
//   push-string <Class@method> <json data> [--queue=]  string job; {"id", "payload"}
//   push-raw <payload> [--queue=] [--delay=N]           pushRaw / laterRaw; {"id"}
//   chain <json [[Class, args], ...]> [--chain-queue=] [--chain-connection=]
//        Bus::chain([...])->onQueue()/onConnection()->dispatch() as PendingChain does
//        it (chainQueue/chainConnection, chain(), chainCatchCallbacks = []) through the
//        Bus dispatcher; {"id"}. Workers dispatch the next job of a chain with the
//        global dispatch() defined here (Foundation's helper is not installed).
//   work-once [--queue=q1,q2] [--release=N] [--fail] [--tries=N] [--backoff=N]
//        Worker::runNextJob once (handlers record what they saw, release or throw when
//        asked); {"ran", "raw_body", "reserved_body", "job_id", "attempts", "events",
//        "handled": [...], "deleted", "released", "failed", "exceptions_reported"}
//   work [--queue=] [--max-jobs=N] [--tries=N]     Worker::daemon-like loop until empty
//        (stop-when-empty); {"processed", "seconds", "handled_count"}
//   size [--queue=]   {"size", "pending", "delayed", "reserved"} (LLEN/ZCARD by hand: 8.x
//        has no pendingSize())
//   bench-push <n> [--queue=]   time $queue->push(new SendInvoiceEmail(...)) n times with
//        hrtime inside PHP; {"n", "seconds", "jobs_per_second"}
//   handled   the markers jobs wrote to Redis list "ninja:handled" (JSON each), then clears it
//
// Jobs (App\Jobs, PHP 8.2, Laravel 8.83 traits): SendInvoiceEmail (SerializesModels,
// tries/backoff/timeout/maxExceptions), ProcessPodcast (displayName(), failOnTimeout),
// GenerateSecretReport (ShouldBeEncrypted), PlainJob (no SerializesModels). Each handle()
// appends {"class", "attempts", "properties", "queue"} to the Redis list "ninja:handled"
// (connection prefix applied) and to the command's "handled" output.
// String handler: App\Handlers\RecordHandler@handle($job, $data) records the same way
// (class "App\Handlers\RecordHandler", "data") and deletes the job.

namespace {
    require_once 'Illuminate/Container/autoload.php';
    require_once 'Illuminate/Config/autoload.php';
    require_once 'Illuminate/Events/autoload.php';
    require_once 'Illuminate/Bus/autoload.php';
    require_once 'Illuminate/Queue/autoload.php';
    require_once 'Illuminate/Redis/autoload.php';
    require_once 'Illuminate/Encryption/autoload.php';

    // Foundation's dispatch() helper (Queueable::dispatchNextJobInChain() calls it):
    // PendingDispatch without the unique-lock check, which these jobs do not need.
    if (! function_exists('dispatch')) {
        function dispatch($job)
        {
            return \Illuminate\Container\Container::getInstance()
                ->make(\Illuminate\Contracts\Bus\Dispatcher::class)->dispatch($job);
        }
    }
}

namespace App\Enums {
    enum InvoiceStatus: string
    {
        case Draft = 'draft';
        case Paid = 'paid';
    }
}

namespace App\Jobs {
    use Illuminate\Bus\Queueable;
    use Illuminate\Contracts\Queue\ShouldBeEncrypted;
    use Illuminate\Contracts\Queue\ShouldQueue;
    use Illuminate\Queue\InteractsWithQueue;
    use Illuminate\Queue\SerializesModels;

    trait RecordsHandling
    {
        public function handle(): void
        {
            $props = [];
            foreach ((new \ReflectionObject($this))->getProperties() as $p) {
                if ($p->isStatic() || ! $p->isInitialized($this) || $p->getName() === 'job') {
                    continue;
                }
                $p->setAccessible(true);
                $props[$p->getName()] = \Driver\typed($p->getValue($this));
            }
            \Driver\record([
                'class' => static::class,
                'attempts' => $this->attempts(),
                'job_id' => $this->job ? $this->job->getJobId() : null,
                'queue' => $this->job ? $this->job->getQueue() : null,
                'properties' => $props,
            ]);
            $release = $GLOBALS['DRIVER_RELEASE'] ?? null;
            if ($release !== null) {
                $this->release((int) $release);
            }
            if (! empty($GLOBALS['DRIVER_FAIL'])) {
                throw new \RuntimeException('driver: job asked to fail');
            }
        }
    }

    class SendInvoiceEmail implements ShouldQueue
    {
        use InteractsWithQueue, Queueable, SerializesModels, RecordsHandling;

        public $tries = 5;
        public $backoff = [10, 60, 300];
        public $timeout = 120;
        public $maxExceptions = 2;

        public function __construct(
            public int $invoiceId = 1,
            protected string $email = 'user@example.com',
            private array $meta = [],
            public ?\App\Enums\InvoiceStatus $status = null,
            public $dueAt = null,
        ) {
        }
    }

    class ProcessPodcast implements ShouldQueue
    {
        use InteractsWithQueue, Queueable, SerializesModels, RecordsHandling;

        public $failOnTimeout = true;

        public function __construct(public array $payload = [], public ?string $note = null)
        {
        }

        public function displayName(): string
        {
            return 'podcast:'.($this->payload['id'] ?? 'none');
        }
    }

    class GenerateSecretReport implements ShouldQueue, ShouldBeEncrypted
    {
        use InteractsWithQueue, Queueable, SerializesModels, RecordsHandling;

        public $tries = 3;

        public function __construct(public string $reportName = 'q3', private string $secret = 's3cr3t', protected array $recipients = [])
        {
        }
    }

    class PlainJob implements ShouldQueue
    {
        use InteractsWithQueue, Queueable, RecordsHandling;

        public $backoff = 30;

        public function __construct(public mixed $value = null, protected int $count = 0, private ?string $label = null)
        {
        }
    }
}

namespace App\Handlers {
    class RecordHandler
    {
        public function handle($job, $data): void
        {
            \Driver\record([
                'class' => static::class,
                'attempts' => $job->attempts(),
                'job_id' => $job->getJobId(),
                'queue' => $job->getQueue(),
                'data' => $data,
            ]);
            if (! empty($GLOBALS['DRIVER_FAIL'])) {
                throw new \RuntimeException('driver: string job asked to fail');
            }
            $release = $GLOBALS['DRIVER_RELEASE'] ?? null;
            if ($release !== null) {
                $job->release((int) $release);
                return;
            }
            $job->delete();
        }
    }
}

namespace Driver {

    use Illuminate\Config\Repository;
    use Illuminate\Container\Container;
    use Illuminate\Contracts\Debug\ExceptionHandler;
    use Illuminate\Queue\Connectors\RedisConnector;
    use Illuminate\Queue\QueueManager;
    use Illuminate\Queue\Worker;
    use Illuminate\Queue\WorkerOptions;
    use Illuminate\Redis\RedisManager;

    class Collector implements ExceptionHandler
    {
        public array $reported = [];

        public function report(\Throwable $e)
        {
            $this->reported[] = get_class($e).': '.$e->getMessage();
        }

        public function shouldReport(\Throwable $e)
        {
            return true;
        }

        public function render($request, \Throwable $e)
        {
            throw $e;
        }

        public function renderForConsole($output, \Throwable $e)
        {
        }
    }

    function typed($v)
    {
        if ($v instanceof \UnitEnum) {
            return ['$enum' => get_class($v).'::'.$v->name];
        }
        if ($v instanceof \DateTimeInterface) {
            return ['$date' => $v->format('Y-m-d\TH:i:s.uP')];
        }
        if (is_array($v)) {
            return array_map(fn ($x) => typed($x), $v);
        }
        if (is_object($v)) {
            return ['$class' => get_class($v)];
        }
        return $v;
    }

    function record(array $entry): void
    {
        $GLOBALS['DRIVER_HANDLED'][] = $entry;
        $GLOBALS['DRIVER_REDIS']->connection('default')->rpush('ninja:handled', json_encode($entry));
    }

    function env(string $name, $default = null)
    {
        $v = getenv($name);
        return ($v === false || $v === '') ? $default : $v;
    }

    function options(array $args): array
    {
        $opts = [];
        $rest = [];
        foreach ($args as $a) {
            if (str_starts_with($a, '--')) {
                $kv = explode('=', substr($a, 2), 2);
                $opts[$kv[0]] = $kv[1] ?? true;
            } else {
                $rest[] = $a;
            }
        }
        return [$rest, $opts];
    }

    function construct(string $class, array $args)
    {
        $fqcn = 'App\\Jobs\\'.$class;
        foreach ($args as $k => $v) {
            if (is_array($v) && isset($v['$enum'])) {
                [$c, $case] = explode('::', $v['$enum']);
                $args[$k] = constant($c.'::'.$case);
            } elseif (is_array($v) && isset($v['$carbon'])) {
                $args[$k] = \Illuminate\Support\Carbon::parse($v['$carbon']);
            }
        }
        return new $fqcn(...$args);
    }

    $app = new Container();
    Container::setInstance($app);
    $app->instance(\Illuminate\Contracts\Container\Container::class, $app);
    $prefix = env('REDIS_PREFIX', '');
    $app->instance('config', new Repository([
        'queue' => [
            'default' => 'redis',
            'connections' => ['redis' => [
                'driver' => 'redis', 'connection' => 'default', 'queue' => 'default',
                'retry_after' => (int) env('QUEUE_RETRY_AFTER', 90),
                'block_for' => env('QUEUE_BLOCK_FOR') === null ? null : (int) env('QUEUE_BLOCK_FOR'),
            ]],
        ],
    ]));
    $redis = new RedisManager($app, 'phpredis', [
        'options' => ['prefix' => $prefix],
        'default' => [
            'host' => env('REDIS_HOST', '127.0.0.1'),
            'port' => (int) env('REDIS_PORT', 6379),
            'database' => (int) env('REDIS_DB', 0),
        ],
    ]);
    $GLOBALS['DRIVER_REDIS'] = $redis;
    $app->instance('redis', $redis);
    $events = new \Illuminate\Events\Dispatcher($app);
    $app->instance('events', $events);
    $app->instance(\Illuminate\Contracts\Events\Dispatcher::class, $events);
    $bus = new \Illuminate\Bus\Dispatcher($app, fn ($connection = null) => $app->make('queue')->connection($connection));
    $app->instance(\Illuminate\Contracts\Bus\Dispatcher::class, $bus);
    $key = env('APP_KEY', 'base64:e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA=');
    if (str_starts_with($key, 'base64:')) {
        $key = base64_decode(substr($key, 7));
    }
    $encrypter = new \Illuminate\Encryption\Encrypter($key, env('APP_CIPHER', 'AES-256-CBC'));
    $app->instance(\Illuminate\Contracts\Encryption\Encrypter::class, $encrypter);
    $manager = new QueueManager($app);
    $manager->addConnector('redis', fn () => new RedisConnector($redis));
    $app->instance('queue', $manager);
    $queue = $manager->connection('redis');
    $collector = new Collector();
    $app->instance(ExceptionHandler::class, $collector);

    function run(array $argv): array
    {
        global $queue, $manager, $events, $collector, $redis, $app;
        $cmd = array_shift($argv);
        [$args, $opts] = options($argv);
        $q = $opts['queue'] ?? null;
        $conn = $redis->connection('default');
        switch ($cmd) {
            case 'push':
            case 'dispatch':
                $job = construct($args[0], json_decode($args[1] ?? '{}', true) ?: []);
                $delay = isset($opts['delay']) ? (int) $opts['delay'] : null;
                if ($cmd === 'dispatch') {
                    $job->onQueue($q);
                    if ($delay !== null) {
                        $job->delay($delay);
                    }
                }
                $id = $delay === null ? $queue->push($job, '', $q) : $queue->later($delay, $job, '', $q);
                return ['id' => $id];
            case 'chain':
                $jobs = array_map(fn ($spec) => construct($spec[0], $spec[1] ?? []), json_decode($args[0], true));
                $first = array_shift($jobs);
                if (isset($opts['chain-connection'])) {
                    $first->chainConnection = $opts['chain-connection'];
                    $first->connection = $first->connection ?: $opts['chain-connection'];
                }
                if (isset($opts['chain-queue'])) {
                    $first->chainQueue = $opts['chain-queue'];
                    $first->queue = $first->queue ?: $opts['chain-queue'];
                }
                $first->chain($jobs);
                $first->chainCatchCallbacks = [];
                return ['id' => $app->make(\Illuminate\Contracts\Bus\Dispatcher::class)->dispatch($first)];
            case 'push-string':
                return ['id' => $queue->push($args[0], json_decode($args[1] ?? 'null', true), $q)];
            case 'push-raw':
                if (isset($opts['delay'])) {
                    return ['id' => $queue->laterRaw((int) $opts['delay'], $args[0], $q)];
                }
                return ['id' => $queue->pushRaw($args[0], $q)];
            case 'size':
                $base = 'queues:'.($q ?? 'default');
                return [
                    'size' => $queue->size($q),
                    'pending' => $conn->llen($base),
                    'delayed' => $conn->zcard($base.':delayed'),
                    'reserved' => $conn->zcard($base.':reserved'),
                ];
            case 'handled':
                $items = $conn->lrange('ninja:handled', 0, -1);
                $conn->del('ninja:handled');
                return ['handled' => array_map(fn ($i) => json_decode($i, true), $items)];
            case 'bench-push':
                $n = (int) $args[0];
                $make = fn ($i) => new \App\Jobs\SendInvoiceEmail($i, 'billing@example.com', ['lines' => [['sku' => 'A', 'qty' => 1]]], \App\Enums\InvoiceStatus::Draft);
                for ($i = 0; $i < min(200, $n); $i++) {
                    $queue->push($make($i), '', $q);  // warm up
                }
                $t = hrtime(true);
                for ($i = 0; $i < $n; $i++) {
                    $queue->push($make($i), '', $q);
                }
                $s = (hrtime(true) - $t) / 1e9;
                return ['n' => $n, 'seconds' => $s, 'jobs_per_second' => $n / $s];
            case 'work-once':
            case 'work':
                $GLOBALS['DRIVER_HANDLED'] = [];
                $GLOBALS['DRIVER_RELEASE'] = $opts['release'] ?? null;
                $GLOBALS['DRIVER_FAIL'] = isset($opts['fail']);
                $seen = [];
                $events->listen('Illuminate\Queue\Events\*', function ($name, $payload) use (&$seen) {
                    $seen[] = substr($name, strrpos($name, '\\') + 1);
                });
                $worker = new Worker($manager, $events, $collector, fn () => false);
                $options = new WorkerOptions('default', (int) ($opts['backoff'] ?? 0), 128, 60, 0,
                    (int) ($opts['tries'] ?? 1), false, true, (int) ($opts['max-jobs'] ?? 0));
                $queues = $q ?? 'default';
                if ($cmd === 'work') {
                    $t = hrtime(true);
                    $processed = 0;
                    $events->listen(\Illuminate\Queue\Events\JobProcessed::class, function () use (&$processed) {
                        $processed++;
                    });
                    $worker->daemon('redis', $queues, $options);
                    return ['processed' => $processed, 'seconds' => (hrtime(true) - $t) / 1e9,
                        'handled_count' => count($GLOBALS['DRIVER_HANDLED'])];
                }
                $job = null;
                $events->listen(\Illuminate\Queue\Events\JobProcessing::class, function ($e) use (&$job) {
                    $job = $e->job;
                });
                $worker->runNextJob('redis', $queues, $options);
                if ($job === null) {
                    return ['ran' => false, 'events' => $seen];
                }
                return [
                    'ran' => true,
                    'raw_body' => base64_encode($job->getRawBody()),
                    'reserved_body' => base64_encode($job->getReservedJob()),
                    'job_id' => $job->getJobId(),
                    'attempts' => $job->attempts(),
                    'events' => $seen,
                    'handled' => $GLOBALS['DRIVER_HANDLED'],
                    'deleted' => $job->isDeleted(),
                    'released' => $job->isReleased(),
                    'failed' => $job->hasFailed(),
                    'exceptions_reported' => $collector->reported,
                ];
        }
        throw new \InvalidArgumentException("unknown command $cmd");
    }

    function safe_run(array $argv): array
    {
        try {
            return ['ok' => true] + run($argv);
        } catch (\Throwable $e) {
            return ['ok' => false, 'error' => get_class($e), 'message' => $e->getMessage()];
        }
    }

    $argv = array_slice($_SERVER['argv'], 1);
    if (($argv[0] ?? '') === 'batch') {
        $out = [];
        foreach (json_decode(stream_get_contents(STDIN), true) as $c) {
            $out[] = safe_run($c);
        }
        echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
    } else {
        echo json_encode(safe_run($argv), JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
    }
}
