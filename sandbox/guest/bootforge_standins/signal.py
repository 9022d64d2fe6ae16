"""Stand-in for ``signal``: constants exist; installing handlers or alarms fails."""
import enum

from bootforge_standins import unavailable


class Signals(enum.IntEnum):
    SIGHUP = 1
    SIGINT = 2
    SIGQUIT = 3
    SIGABRT = 6
    SIGKILL = 9
    SIGUSR1 = 10
    SIGSEGV = 11
    SIGUSR2 = 12
    SIGPIPE = 13
    SIGALRM = 14
    SIGTERM = 15
    SIGCHLD = 17


class Handlers(enum.IntEnum):
    SIG_DFL = 0
    SIG_IGN = 1


globals().update(Signals.__members__)
globals().update(Handlers.__members__)
ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
NSIG = 65


class ItimerError(OSError):
    pass


def signal(signalnum, handler):
    raise unavailable("installing a signal handler")


def getsignal(signalnum):
    return Handlers.SIG_DFL


def alarm(seconds):
    raise unavailable("signal.alarm")


def setitimer(which, seconds, interval=0.0):
    raise unavailable("signal.setitimer")


def getitimer(which):
    return (0.0, 0.0)


def raise_signal(signalnum):
    raise unavailable("raising a signal")


def default_int_handler(*args):
    raise KeyboardInterrupt
