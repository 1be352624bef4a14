"""sipp user agents as real SIP phones for the end-to-end tests.

A :class:`SippPhone` runs one sipp process on 127.0.0.1 that plays one of the
scenarios in ``tests/e2e/sipp/`` (see docs/test-phones.md) for exactly one call. The
UAS scenarios (uas_*.xml) are phones the app (or a test) dials through the test
Asterisk as

    PJSIP/sipp-trunk/sip:<port>@127.0.0.1:<port>      (directly, e.g. a src leg)
    Local/9<port>@dst-route                           (through the dialplan)

Everything sipp sent and received is written to a message log, so a test can assert
on the INVITE it got (From, P-Asserted-Identity, ...) and on the Reason header of a
CANCEL or BYE::

    with SippPhone("uas_answer.xml", ring_ms=500) as phone:
        ...originate to phone.endpoint...
        phone.wait(timeout=20)
        invite = phone.received("INVITE")
        assert "5550100" in phone.header(invite, "P-Asserted-Identity")

The logs live in a temporary directory that is removed when the ``with`` block ends
(or by cleanup()): read them before. uac_call.xml calls INTO Asterisk instead
(``SippPhone("uac_call.xml", call="1001", asterisk="127.0.0.1:<sip port>")``).

Only its own process is ever stopped (by PID). No stdin, no terminal needed.
Regenerate the RTP file with ``python tests/e2e/sipp.py``.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SCENARIOS = Path(__file__).resolve().parent / "sipp"
HOST = "127.0.0.1"

# One entry of sipp's -trace_msg log:
#   ----------------------------------------------- 2026-11-23 21:02:19.179679
#   UDP message received [905] bytes :     |     UDP message sent (322 bytes):
_MESSAGE = re.compile(
    r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d+)\n"
    r"\w+ message (received|sent) (?:\[\d+\] bytes ?|\(\d+ bytes\)):\n\n(.*?)(?=^-{20,} \d{4}-|\Z)",
    re.M | re.S)


class SipMessage(NamedTuple):
    timestamp: float     # epoch seconds (local time of this host)
    direction: str       # "received" | "sent"
    text: str            # the message, headers and body

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

# Every scenario's keywords (sipp refuses to load a scenario whose [keyword] is not
# given, and ignores keywords a scenario does not use), so all are always passed.
DEFAULT_KEYS = {
    "ring_ms": 1000,    # uas_answer / uas_answer_bye / uas_early_media: 180 -> 200 (or -> 183)
    "early_ms": 2000,   # uas_early_media: 183 (with audio) -> 200
    "talk_ms": 2000,    # uas_answer_bye / uac_call: 200 -> our BYE; uas_answer_refer: -> REFER
    "caller_num": "5551234",   # uac_call: P-Asserted-Identity = the caller's number in Asterisk
    "refer_to": "1001",        # uas_answer_refer: the user part of Refer-To
}


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free right now (4 or 5 digits, for 9PPPPP numbers)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port >= 1000:
            return port
    raise RuntimeError("no free UDP port")


class SippPhone:
    """One sipp user agent on 127.0.0.1:<port>, for one call.

    ``scenario``: a file name in tests/e2e/sipp/ (or a path); ``port``: the SIP port
    (default: a free one); keyword arguments override DEFAULT_KEYS (milliseconds);
    ``timeout``: sipp's own global timeout in seconds (it exits by itself after that).
    UAS scenarios (uas_*.xml) wait for Asterisk's INVITE. For the UAC scenario
    (uac_call.xml) give ``call`` (the number dialled in [test-inbound]) and ``asterisk``
    ("127.0.0.1:<Asterisk's SIP port>"): sipp calls as soon as it starts.
    """

    def __init__(self, scenario: str, port: int | None = None, *, timeout: float = 120,
                 call: str | None = None, asterisk: str | None = None,
                 extra_args: tuple[str, ...] = (), **keys: int | str) -> None:
        path = Path(scenario)
        self.scenario = path if path.is_absolute() else SCENARIOS / scenario
        if not self.scenario.exists():
            raise FileNotFoundError(self.scenario)
        self.port = port or free_udp_port()
        self.keys = {**DEFAULT_KEYS, **keys}
        self.timeout = timeout
        self.extra_args = tuple(extra_args)
        if (call is None) != (asterisk is None):
            raise ValueError("call and asterisk go together (UAC scenarios)")
        self.call, self.asterisk = call, asterisk
        self.proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None
        self.returncode: int | None = None

    # ------------------------------------------------------------------ addresses
    @property
    def number(self) -> str:
        """The dialplan number that reaches this phone (through dst-route / transfer-targets)."""
        return f"9{self.port}"

    @property
    def endpoint(self) -> str:
        """The ARI endpoint string that dials this phone directly."""
        return f"PJSIP/sipp-trunk/sip:{self.port}@{HOST}:{self.port}"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SippPhone:
        self._dir = tempfile.TemporaryDirectory(prefix=f"sipp-{self.port}-")
        d = Path(self._dir.name)
        self.message_file = d / "messages.log"
        self.error_file = d / "errors.log"
        self.log_file = d / "actions.log"
        self.stdout_file = d / "stdout.log"
        args = [SIPP, "-sf", str(self.scenario),
                "-i", HOST, "-mi", HOST, "-ci", HOST,   # SIP, media and control sockets on loopback
                "-p", str(self.port), "-m", "1",
                "-nostdin", "-aa",                      # auto-200 for UPDATE/INFO/NOTIFY/OPTIONS
                "-timeout", f"{int(self.timeout)}s", "-timeout_error",
                "-trace_msg", "-message_file", str(self.message_file),
                "-trace_err", "-error_file", str(self.error_file),
                "-trace_logs", "-log_file", str(self.log_file)]
        for key, value in self.keys.items():
            args += ["-key", key, str(value)]
        args += list(self.extra_args)
        if self.call is not None:
            args += ["-s", self.call, self.asterisk]
        # cwd = the scenario directory: scenarios name their pcap files relative to it.
        self._stdout = open(self.stdout_file, "wb")
        self.proc = subprocess.Popen(args, cwd=self.scenario.parent, stdin=subprocess.DEVNULL,
                                     stdout=self._stdout, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._wait_bound()
        return self

    def _wait_bound(self, timeout: float = 5.0) -> None:
        """Return once sipp listens on its port (or fail with its output)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sipp exited with {self.proc.returncode}: {self.output()}")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind((HOST, self.port))
                except OSError:
                    return          # taken: sipp has it
            time.sleep(0.02)
        raise RuntimeError(f"sipp did not bind {HOST}:{self.port}: {self.output()}")

    def wait(self, timeout: float = 30) -> int:
        """Wait for the scenario to end; return sipp's exit code (0 = the call went as scripted)."""
        assert self.proc is not None, "not started"
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"sipp on port {self.port} still running after {timeout} s") from None
        return self.returncode

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """End this sipp (its own PID only): SIGTERM, then SIGKILL."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)
        if self.proc is not None:
            self.returncode = self.proc.returncode
        if getattr(self, "_stdout", None):
            self._stdout.close()
            self._stdout = None

    def cleanup(self) -> None:
        self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> SippPhone:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()

    # ------------------------------------------------------------------ logs
    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def output(self) -> str:
        return self._read(self.stdout_file) if self._dir else ""

    @property
    def messages(self) -> str:
        """The full message log: every SIP message sent and received, with sipp's separators."""
        return self._read(self.message_file)

    @property
    def errors(self) -> str:
        """sipp's error log without the "receive timeout ... jumping to label" lines that the
        scenarios' 100 ms wait slices produce by design: what is left is worth a look
        (unexpected messages, aborted calls)."""
        return "\n".join(line for line in self._read(self.error_file).splitlines()
                         if line.strip() and "jumping to label" not in line
                         and line.strip() != "The following events occurred:")

    def message_list(self) -> list[SipMessage]:
        """Every SIP message sent or received, in order."""
        out = []
        for m in _MESSAGE.finditer(self.messages):
            stamp = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + float("0." + m.group(2))
            out.append(SipMessage(stamp, m.group(3), m.group(4).strip("\r\n")))
        return out

    def received(self, method: str, index: int = 0) -> str:
        """The index-th received request of that method (e.g. "INVITE", "CANCEL", "BYE")."""
        found = [m.text for m in self.message_list()
                 if m.direction == "received" and m.text.startswith(method + " ")]
        if len(found) <= index:
            raise AssertionError(f"sipp {self.port} received no {method} #{index}; messages: "
                                 f"{[(m.direction, m.first_line) for m in self.message_list()]}")
        return found[index]

    def sent_status(self) -> list[int]:
        """The status codes sipp sent, in order."""
        return [int(m.first_line.split()[1]) for m in self.message_list()
                if m.direction == "sent" and m.text.startswith("SIP/2.0 ")]

    def received_methods(self) -> list[str]:
        """First lines of everything received (requests and responses), in order."""
        return [m.first_line for m in self.message_list() if m.direction == "received"]

    @staticmethod
    def header(message: str, name: str) -> str:
        """The first header of that name (case-insensitive, compact forms not handled); "" if none."""
        values = SippPhone.headers(message, name)
        return values[0] if values else ""

    @staticmethod
    def headers(message: str, name: str) -> list[str]:
        head = message.split("\n\n", 1)[0].split("\r\n\r\n", 1)[0]
        pat = re.compile(rf"^{re.escape(name)}\s*:\s*(.*?)\s*$", re.I | re.M)
        return pat.findall(head)


def write_pcmu_pcap(path: Path, seconds: float = 8.0, freqs: tuple[int, ...] = (400, 800),
                    level: float = 0.3, src_port: int = 6000, dst_port: int = 7000) -> None:
    """Write the RTP stream the scenarios play: G.711 mu-law (PT 0), 20 ms packets, a tone
    that alternates between ``freqs`` every half second (clearly "audio", easy to detect).
    sipp rewrites addresses and ports when it plays the file; only payload and timing count.
    Kept here so tests/e2e/sipp/pcmu-tone.pcap can be regenerated."""
    import math

    def ulaw(sample: int) -> int:
        bias, clip = 0x84, 32635
        sign = 0x80 if sample < 0 else 0
        sample = min(abs(sample), clip) + bias
        exponent, mask = 7, 0x4000
        while exponent > 0 and not sample & mask:
            exponent -= 1
            mask >>= 1
        mantissa = (sample >> (exponent + 3)) & 0x0F
        return ~(sign | (exponent << 4) | mantissa) & 0xFF

    def csum(data: bytes) -> int:
        if len(data) % 2:
            data += b"\0"
        total = sum(struct.unpack(f"!{len(data) // 2}H", data))
        total = (total >> 16) + (total & 0xFFFF)
        total += total >> 16
        return ~total & 0xFFFF

    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    ssrc, n_packets = 0x5EED1234, int(seconds * 50)
    for i in range(n_packets):
        payload = bytearray()
        for k in range(160):
            t = (i * 160 + k) / 8000.0
            f = freqs[int(t * 2) % len(freqs)]
            payload.append(ulaw(int(level * 32767 * math.sin(2 * math.pi * f * t))))
        rtp = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 0, i & 0xFFFF, i * 160, ssrc) + payload
        udp_len = 8 + len(rtp)
        udp = struct.pack("!HHHH", src_port, dst_port, udp_len, 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, i & 0xFFFF, 0, 64, 17, 0,
                         socket.inet_aton(HOST), socket.inet_aton(HOST))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        frame = b"\0" * 12 + b"\x08\x00" + ip + udp
        ts = i * 0.02
        out.append(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)), len(frame), len(frame)))
        out.append(frame)
    Path(path).write_bytes(b"".join(out))


if __name__ == "__main__":      # python tests/e2e/sipp.py  -> regenerate the pcap
    write_pcmu_pcap(SCENARIOS / "pcmu-tone.pcap")
    print(SCENARIOS / "pcmu-tone.pcap")
