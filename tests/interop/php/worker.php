<?php
// Live peer for tests/interop/test_worker_live.py and benchmarks/worker.py: Laravel 8.83's
// own RedisQueue (phpredis) and Illuminate\Queue\Worker, booted by hand (Debian
// php-illuminate-* packages). String jobs "WorkerPeerHandler@<behaviour>" are used.
//
// stdin:  {"redis": {host, port, database}, "prefix", "queue", "retry_after", "cmd": ...}
// cmds:   push   {"jobs": [{"data", "queue"?, "delay"?}], "behaviour"}  -> {"ids": [...]}
//         work-once {"options": {backoff, tries, sleep}}   -> {"handled": [...]} (runNextJob)
//         daemon    {"options": {...}}   -> {"seconds", "jobs"} (daemon, stop-when-empty)
// Behaviours: fire (delete), release (release data.delay), throw (RuntimeException).

require_once 'Illuminate/Support/autoload.php';
require_once 'Illuminate/Container/autoload.php';
require_once 'Illuminate/Config/autoload.php';
require_once 'Illuminate/Events/autoload.php';
require_once 'Illuminate/Redis/autoload.php';
require_once 'Illuminate/Queue/autoload.php';

use Illuminate\Container\Container;
use Illuminate\Contracts\Debug\ExceptionHandler;
use Illuminate\Events\Dispatcher;
use Illuminate\Queue\Connectors\RedisConnector;
use Illuminate\Queue\QueueManager;
use Illuminate\Queue\Worker;
use Illuminate\Queue\WorkerOptions;
use Illuminate\Redis\RedisManager;

final class PeerExceptions implements ExceptionHandler
{
    public function report(Throwable $e) {}
    public function shouldReport(Throwable $e) { return false; }
    public function render($request, Throwable $e) { return null; }
    public function renderForConsole($output, Throwable $e) {}
}

final class WorkerPeerHandler
{
    public static array $handled = [];

    private function record($job, $data, string $what): void
    {
        self::$handled[] = ['id' => $job->getJobId(), 'attempts' => $job->attempts(),
            'data' => $data, 'what' => $what, 'time' => time(),
            'reserved' => base64_encode($job->getReservedJob())];
    }

    public function fire($job, $data) { $this->record($job, $data, 'fire'); $job->delete(); }
    public function noop($job, $data) { $job->delete(); }
    public function release($job, $data) { $this->record($job, $data, 'release'); $job->release($data['delay'] ?? 0); }
    public function throw($job, $data) { $this->record($job, $data, 'throw'); throw new RuntimeException('peer boom'); }
}

$in = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$app = new Container();
Container::setInstance($app);
$app->instance('config', new Illuminate\Config\Repository([
    'queue' => ['default' => 'redis', 'connections' => ['redis' => [
        'driver' => 'redis', 'connection' => 'default', 'queue' => $in['queue'] ?? 'default',
        'retry_after' => $in['retry_after'] ?? 90, 'block_for' => null,
    ]]],
]));
$events = new Dispatcher($app);
$app->instance('events', $events);
$redis = new RedisManager($app, 'phpredis', [
    'default' => $in['redis'], 'options' => ['prefix' => $in['prefix']],
]);
$manager = new QueueManager($app);
$manager->addConnector('redis', fn () => new RedisConnector($redis));
$queue = $manager->connection('redis');
$opts = $in['options'] ?? [];
$options = new WorkerOptions('default', $opts['backoff'] ?? 0, 512, 0, $opts['sleep'] ?? 0,
    $opts['tries'] ?? 1, false, true);
$worker = new Worker($manager, $events, new PeerExceptions(), fn () => false);
$queues = $in['queues'] ?? ($in['queue'] ?? 'default');

switch ($in['cmd']) {
    case 'push':
        $ids = [];
        foreach ($in['jobs'] as $j) {
            $name = 'WorkerPeerHandler@' . ($j['behaviour'] ?? 'fire');
            $ids[] = isset($j['delay'])
                ? $queue->later($j['delay'], $name, $j['data'], $j['queue'] ?? null)
                : $queue->push($name, $j['data'], $j['queue'] ?? null);
        }
        echo json_encode(['ids' => $ids]);
        break;
    case 'work-once':
        $worker->runNextJob('redis', $queues, $options);
        echo json_encode(['handled' => WorkerPeerHandler::$handled]);
        break;
    case 'daemon':
        $start = hrtime(true);
        register_shutdown_function(function () use ($start) {
            echo json_encode(['seconds' => (hrtime(true) - $start) / 1e9]);
        });
        $worker->daemon('redis', $queues, $options);  // exits when the queue is empty
        break;
}
