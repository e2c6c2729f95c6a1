<?php
// Live peer for tests/interop/test_worker_audit_live.py: Laravel 8.83's own RedisQueue
// (phpredis), Illuminate\Queue\Worker with a Redis cache store (maxExceptions counter),
// the failed-job providers on a real database through Illuminate\Database's Capsule, and
// Illuminate\Queue\Console\RetryCommand, booted by hand (Debian php-illuminate-*).
//
// stdin (JSON): {"redis": {host, port}, "prefix", "cache_prefix", "timezone" ("UTC"),
//   "now" (optional Unix time: Carbon::setTestNow), "queue" ("default"),
//   "db": {"connection": {...Capsule connection...}, "table", "uuids": bool} (optional),
//   "options": {tries, backoff, timeout, sleep, maxJobs, maxTime, rest, memory,
//               stopWhenEmpty}, "cmd", ...}
// cmds:
//   work-once  Worker::runNextJob(); {"ran", "attempts", "raw", "reserved" (base64),
//              "deleted", "released", "failed", "failed_with": [class, message, string]}
//   daemon     Worker::daemon() (stop-when-empty unless options say otherwise); a job
//              that times out kills this process (SIGKILL), as in Laravel
//   retry      queue:retry {ids} through RetryCommand::run(); {"output"}
//   log        the provider's log("redis", queue, payload, new RuntimeException(message));
//              {"id", "string"}
//   schema     Schema::create() of the 8.83 failed_jobs migration stub (uuids) or of the
//              same table without uuid (legacy)
//   work-many  runNextJob() once per {"queue", "options": {tries, backoff}} of "runs";
//              {"results": [{"ran", "handled", "deleted", "released", "failed",
//              "failed_with": [class, message]}]}
//   json       json_encode(json_decode(text, assoc), flags) of each of "texts" with
//              {"assoc", "pretty"}; {"outs"}
// String jobs "AuditPeer@<behaviour>" with data {"message"?, "seconds"?, "delay"?}:
//   fire (delete), throw (RuntimeException), sleep (seconds), release (delay), fail
//   ($job->fail() without an exception).

namespace {
    require_once 'Illuminate/Container/autoload.php';
    require_once 'Illuminate/Config/autoload.php';
    require_once 'Illuminate/Events/autoload.php';
    require_once 'Illuminate/Cache/autoload.php';
    require_once 'Illuminate/Redis/autoload.php';
    require_once 'Illuminate/Queue/autoload.php';
    require_once 'Illuminate/Database/autoload.php';
    require_once 'Illuminate/Console/autoload.php';
    require_once 'Illuminate/Encryption/autoload.php';

    final class AuditPeer
    {
        public static array $handled = [];

        public function fire($job, $data) { self::$handled[] = $job->attempts(); $job->delete(); }
        public function throw($job, $data) { self::$handled[] = $job->attempts(); throw new RuntimeException($data['message'] ?? 'peer boom'); }
        public function sleep($job, $data) { self::$handled[] = $job->attempts(); sleep((int) ($data['seconds'] ?? 5)); $job->delete(); }
        public function release($job, $data) { self::$handled[] = $job->attempts(); $job->release($data['delay'] ?? 0); }
        public function fail($job, $data) { self::$handled[] = $job->attempts(); $job->fail(); }
    }
}

namespace App\Jobs {
    // A job whose retryUntil() queue:retry calls (refreshRetryUntil()).
    class AuditRetryUntil
    {
        public $n = 0;

        public function retryUntil()
        {
            return \Illuminate\Support\Carbon::createFromTimestamp((int) getenv('AUDIT_RETRY_UNTIL'));
        }
    }
}

namespace Driver {
    use Illuminate\Cache\RedisStore;
    use Illuminate\Cache\Repository as CacheRepository;
    use Illuminate\Container\Container;
    use Illuminate\Contracts\Debug\ExceptionHandler;
    use Illuminate\Database\Capsule\Manager as Capsule;
    use Illuminate\Queue\Connectors\RedisConnector;
    use Illuminate\Queue\Events\JobFailed;
    use Illuminate\Queue\Events\JobProcessing;
    use Illuminate\Queue\Failed\DatabaseFailedJobProvider;
    use Illuminate\Queue\Failed\DatabaseUuidFailedJobProvider;
    use Illuminate\Queue\QueueManager;
    use Illuminate\Queue\Worker;
    use Illuminate\Queue\WorkerOptions;
    use Illuminate\Redis\RedisManager;
    use Illuminate\Support\Carbon;
    use Symfony\Component\Console\Input\ArrayInput;
    use Symfony\Component\Console\Output\BufferedOutput;

    final class Quiet implements ExceptionHandler
    {
        public function report(\Throwable $e) {}
        public function shouldReport(\Throwable $e) { return false; }
        public function render($request, \Throwable $e) { throw $e; }
        public function renderForConsole($output, \Throwable $e) {}
    }

    $in = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
    date_default_timezone_set($in['timezone'] ?? 'UTC');
    if (isset($in['now'])) {
        Carbon::setTestNow(Carbon::createFromTimestamp($in['now']));
    }

    $app = new Container();
    Container::setInstance($app);
    \Illuminate\Support\Facades\Facade::setFacadeApplication($app);
    $app->instance('config', new \Illuminate\Config\Repository([
        'queue' => ['default' => 'redis', 'connections' => ['redis' => [
            'driver' => 'redis', 'connection' => 'default', 'queue' => $in['queue'] ?? 'default',
            'retry_after' => $in['retry_after'] ?? 90, 'block_for' => null,
        ]]],
    ]));
    $events = new \Illuminate\Events\Dispatcher($app);
    $app->instance('events', $events);
    $app->instance(\Illuminate\Contracts\Events\Dispatcher::class, $events);
    $conn = ['host' => $in['redis']['host'], 'port' => $in['redis']['port']];
    $redis = new RedisManager($app, 'phpredis', [
        'options' => ['prefix' => $in['prefix']],
        'default' => $conn + ['database' => 0],
        'cache' => $conn + ['database' => 1],
    ]);
    $app->instance('redis', $redis);
    $store = new RedisStore($redis, $in['cache_prefix'] ?? 'laravel_cache', 'cache');
    $store->setLockConnection('default');
    $cache = new CacheRepository($store);
    $key = base64_decode('e59K8xMtz9ifYFctzSdIRDYiAwHijRg7zKybchfWKKA=');
    $app->instance(\Illuminate\Contracts\Encryption\Encrypter::class, new \Illuminate\Encryption\Encrypter($key, 'AES-256-CBC'));
    $manager = new QueueManager($app);
    $manager->addConnector('redis', fn () => new RedisConnector($redis));
    $app->instance('queue', $manager);

    $failer = null;
    if (isset($in['db'])) {
        $capsule = new Capsule(new Container());
        $capsule->addConnection($in['db']['connection']);
        $resolver = $capsule->getDatabaseManager();
        $table = $in['db']['table'];
        $failer = ($in['db']['uuids'] ?? true)
            ? new DatabaseUuidFailedJobProvider($resolver, 'default', $table)
            : new DatabaseFailedJobProvider($resolver, 'default', $table);
        $app->instance('queue.failer', $failer);
    }

    $o = $in['options'] ?? [];
    $options = new WorkerOptions(
        'default', $o['backoff'] ?? 0, $o['memory'] ?? 128, $o['timeout'] ?? 60, $o['sleep'] ?? 0,
        $o['tries'] ?? 1, false, $o['stopWhenEmpty'] ?? true, $o['maxJobs'] ?? 0, $o['maxTime'] ?? 0,
        $o['rest'] ?? 0,
    );
    $failedWith = null;
    // WorkCommand::listenForEvents(): JobFailed -> queue.failer->log(...)
    $events->listen(JobFailed::class, function (JobFailed $e) use ($failer, &$failedWith) {
        $failedWith = [get_class($e->exception), $e->exception->getMessage(), (string) $e->exception];
        if ($failer) {
            $failer->log($e->connectionName, $e->job->getQueue(), $e->job->getRawBody(), $e->exception);
        }
    });
    $worker = new Worker($manager, $events, new Quiet(), fn () => false);
    $worker->setCache($cache);
    $queue = $in['queue'] ?? 'default';

    switch ($in['cmd']) {
        case 'work-once':
            $job = null;
            $events->listen(JobProcessing::class, function ($e) use (&$job) { $job = $e->job; });
            $worker->runNextJob('redis', $queue, $options);
            if ($job === null) {
                echo json_encode(['ran' => false]);
                break;
            }
            echo json_encode([
                'ran' => true, 'attempts' => $job->attempts(), 'handled' => \AuditPeer::$handled,
                'raw' => base64_encode($job->getRawBody()),
                'reserved' => base64_encode($job->getReservedJob()),
                'deleted' => $job->isDeleted(), 'released' => $job->isReleased(),
                'failed' => $job->hasFailed(), 'failed_with' => $failedWith,
            ]);
            break;
        case 'work-many':
            // one Worker::runNextJob() per {"queue", "options"}; {"results": [...]}
            $results = [];
            foreach ($in['runs'] as $run) {
                $job = null;
                $failedWith = null;
                \AuditPeer::$handled = [];
                $listener = function ($e) use (&$job) { $job = $e->job; };
                $events->listen(JobProcessing::class, $listener);
                $o = $run['options'] ?? [];
                $worker->runNextJob('redis', $run['queue'], new WorkerOptions(
                    'default', $o['backoff'] ?? 0, 128, 60, 0, $o['tries'] ?? 1, false, true
                ));
                $events->forget(JobProcessing::class);
                $results[] = $job === null ? ['ran' => false] : [
                    'ran' => true, 'handled' => \AuditPeer::$handled,
                    'deleted' => $job->isDeleted(), 'released' => $job->isReleased(),
                    'failed' => $job->hasFailed(),
                    'failed_with' => $failedWith === null ? null : array_slice($failedWith, 0, 2),
                ];
            }
            echo json_encode(['results' => $results]);
            break;
        case 'daemon':
            $status = $worker->daemon('redis', $queue, $options);
            echo json_encode(['status' => $status, 'handled' => \AuditPeer::$handled]);
            break;
        case 'retry':
            putenv('AUDIT_RETRY_UNTIL='.($in['retry_until'] ?? 0));
            $command = new \Illuminate\Queue\Console\RetryCommand();
            $command->setLaravel($app);
            $output = new BufferedOutput();
            $command->run(new ArrayInput(['id' => $in['ids']]), $output);
            echo json_encode(['output' => $output->fetch()]);
            break;
        case 'log':
            $e = new \RuntimeException($in['message']);
            $id = $failer->log('redis', $queue, base64_decode($in['payload']), $e);
            echo json_encode(['id' => $id, 'string' => (string) $e]);
            break;
        case 'schema':
            $capsule->setAsGlobal();
            $schema = $capsule->getDatabaseManager()->connection('default')->getSchemaBuilder();
            $uuids = $in['db']['uuids'] ?? true;
            $schema->create($table, function ($t) use ($uuids) {
                $t->id();
                if ($uuids) {
                    $t->string('uuid')->unique();
                }
                $t->text('connection');
                $t->text('queue');
                $t->longText('payload');
                $t->longText('exception');
                $t->timestamp('failed_at')->useCurrent();
            });
            echo json_encode(['ok' => true]);
            break;
        case 'json':
            $flags = empty($in['pretty']) ? 0 : JSON_PRETTY_PRINT;
            $outs = [];
            foreach ($in['texts'] as $text) {
                $outs[] = json_encode(json_decode($text, $in['assoc'] ?? true), $flags);
            }
            echo json_encode(['outs' => $outs]);
            break;
        default:
            throw new \InvalidArgumentException('unknown command '.$in['cmd']);
    }
}
