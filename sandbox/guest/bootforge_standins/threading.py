"""Single-threaded stand-in for ``threading``: locks work, starting a thread fails."""
from bootforge_standins import unavailable

TIMEOUT_MAX = float(2 ** 31)


class Lock:
    def __init__(self):
        self._held = 0

    def acquire(self, blocking=True, timeout=-1):
        if self._held and not isinstance(self, RLock):
            if not blocking or timeout >= 0:
                return False
            # Nobody else could ever release it: waiting would hang forever.
            raise RuntimeError("deadlock: acquiring a Lock this (only) thread already holds")
        self._held += 1
        return True

    def release(self):
        if not self._held:
            raise RuntimeError("release unlocked lock")
        self._held -= 1

    def locked(self):
        return bool(self._held)

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()


class RLock(Lock):
    pass


class Condition:
    def __init__(self, lock=None):
        self._lock = lock or RLock()

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def acquire(self, *a, **k):
        return self._lock.acquire(*a, **k)

    def release(self):
        return self._lock.release()

    def wait(self, timeout=None):
        raise unavailable("waiting on a threading.Condition")

    def wait_for(self, predicate, timeout=None):
        if predicate():
            return True
        raise unavailable("waiting on a threading.Condition")

    def notify(self, n=1):
        pass

    def notify_all(self):
        pass


class Semaphore:
    def __init__(self, value=1):
        self._value = value

    def acquire(self, blocking=True, timeout=None):
        if self._value > 0:
            self._value -= 1
            return True
        if not blocking or timeout is not None:
            return False
        raise RuntimeError("deadlock: semaphore exhausted in a single-threaded sandbox")

    def release(self, n=1):
        self._value += n

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()


BoundedSemaphore = Semaphore


class Event:
    def __init__(self):
        self._flag = False

    def is_set(self):
        return self._flag

    def set(self):
        self._flag = True

    def clear(self):
        self._flag = False

    def wait(self, timeout=None):
        if self._flag:
            return True
        if timeout is not None:
            return False
        raise unavailable("waiting on a threading.Event")


class local:
    pass


class Thread:
    def __init__(self, group=None, target=None, name=None, args=(), kwargs=None, *, daemon=None):
        self.name = name or "Thread"
        self.daemon = bool(daemon)
        self._target, self._args, self._kwargs = target, args, kwargs or {}

    def start(self):
        raise unavailable("starting a thread")

    def run(self):
        if self._target is not None:
            self._target(*self._args, **self._kwargs)

    def join(self, timeout=None):
        raise RuntimeError("cannot join thread before it is started")

    def is_alive(self):
        return False


class Timer(Thread):
    def __init__(self, interval, function, args=None, kwargs=None):
        super().__init__(target=function, args=args or (), kwargs=kwargs)

    def cancel(self):
        pass


class _MainThread(Thread):
    def __init__(self):
        super().__init__(name="MainThread")
        self.ident = 1

    def is_alive(self):
        return True


_MAIN = _MainThread()


def current_thread():
    return _MAIN


currentThread = current_thread


def main_thread():
    return _MAIN


def get_ident():
    return 1


def get_native_id():
    return 1


def active_count():
    return 1


def enumerate():
    return [_MAIN]


def settrace(func):
    pass


def setprofile(func):
    pass


def stack_size(size=0):
    return 0


def excepthook(args):
    pass
