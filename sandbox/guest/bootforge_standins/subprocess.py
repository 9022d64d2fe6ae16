"""Stand-in for ``subprocess``: it imports; starting any process fails."""
from bootforge_standins import unavailable

PIPE = -1
STDOUT = -2
DEVNULL = -3


class SubprocessError(Exception):
    pass


class CalledProcessError(SubprocessError):
    def __init__(self, returncode, cmd, output=None, stderr=None):
        self.returncode, self.cmd, self.output, self.stderr = returncode, cmd, output, stderr
        self.stdout = output


class TimeoutExpired(SubprocessError):
    def __init__(self, cmd, timeout, output=None, stderr=None):
        self.cmd, self.timeout, self.output, self.stderr = cmd, timeout, output, stderr
        self.stdout = output


class CompletedProcess:
    def __init__(self, args, returncode, stdout=None, stderr=None):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr


class Popen:
    def __init__(self, *args, **kwargs):
        raise unavailable("starting a process")


def run(*args, **kwargs):
    raise unavailable("starting a process")


def call(*args, **kwargs):
    raise unavailable("starting a process")


check_call = check_output = getoutput = getstatusoutput = call
