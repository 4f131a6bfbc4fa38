"""The Jupyter project's kernel conformance suite (jupyter_kernel_test) against the notebooks'
kernel (`tslab`, this checkout's), with TypeScript samples, plus the checks the notebooks need:
type errors as `error` messages, thrown errors without the kernel's frames, a DataFrame value
as a table, interrupting an `await`, no request left without a reply.

Run by tests/kernel/conformance.test.ts:
    JUPYTER_PATH=<folder with this checkout's kernelspec> python3 -m unittest -v conformance
(cwd tests/kernel; ERASERLAB_ROOT names the checkout; the kernel starts in notebooks/).
"""
import os
import re
import time
import unittest
from queue import Empty

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel
from jupyter_kernel_test.msgspec_v5 import validate_message

ROOT = os.environ["ERASERLAB_ROOT"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
INTERNAL = re.compile(r"evalmachine|tslab[\\/]dist|node:internal|node:vm|kernel[\\/]server")


def plain(lines):
    return ANSI.sub("", "\n".join(lines))


class TslabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tslab"
    language_name = "typescript"
    file_extension = ".ts"

    @classmethod
    def setUpClass(cls):
        # Started where the notebooks are, so `../dist/kernel` resolves as in a notebook.
        cls.km, cls.kc = start_new_kernel(kernel_name=cls.kernel_name, cwd=os.path.join(ROOT, "notebooks"))

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("something went wrong")'

    completion_samples = [
        {"text": "Math.ma", "matches": {"max"}},
        {"text": "const abcdef = 1; abcd", "matches": {"abcdef"}},
    ]

    complete_code_samples = ["6 * 7", "const x = 1", "function f() { return 1; }", "await Promise.resolve(1)", "interface P { a: number }"]
    incomplete_code_samples = ["function f() {", "if (x) {", "const s = `abc", "[1, 2,"]
    invalid_code_samples = ["const = ;", "1 +* 2", "x = = 1"]

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"a" + "b"', "result": "'ab'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
        {"code": "({ a: 1, b: 'x' })", "result": "{ a: 1, b: 'x' }"},
    ]

    code_display_data = [
        {"code": 'import { show } from "../dist/kernel"\nawait show("<b>bold</b>")', "mime": "text/html"},
        {"code": 'require("tslab").display.html("<i>tslab API</i>")', "mime": "text/html"},
    ]

    code_history_pattern = "6 ? 7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Math.max"

    code_page_something = "Math.max?"

    code_clear_output = 'import { clearOutput } from "../dist/kernel"\nclearOutput()'

    # -- beyond the standard checks ---------------------------------------------------------

    def test_kernel_info_status(self):
        self.flush_channels()
        msg_id = self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=15)
        validate_message(reply, "kernel_info_reply", msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(reply["content"]["language_info"]["name"], "typescript")

    def test_type_error(self):
        self.flush_channels()
        code = 'const ok = 1;\nconst n: number = "x";'
        reply, outputs = self.execute_helper(code)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual([m["msg_type"] for m in outputs], ["error"])
        err = outputs[0]["content"]
        self.assertEqual(err["ename"], "TSError")
        self.assertEqual(err["evalue"], "2:7 - Type 'string' is not assignable to type 'number'. (TS2322)")
        self.assertEqual(reply["content"]["ename"], err["ename"])
        self.assertEqual(reply["content"]["evalue"], err["evalue"])
        text = plain(err["traceback"])
        self.assertIn('2 | const n: number = "x";', text)
        self.assertNotRegex(text, INTERNAL)

    def test_thrown_error_traceback(self):
        self.flush_channels()
        code = "function inner() { throw new RangeError('out of range: 7') }\nfunction outer() { inner() }\nouter()"
        reply, outputs = self.execute_helper(code)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual([m["msg_type"] for m in outputs], ["error"])
        err = outputs[0]["content"]
        self.assertEqual((err["ename"], err["evalue"]), ("RangeError", "out of range: 7"))
        self.assertTrue(plain(err["traceback"][:1]).startswith("RangeError: out of range: 7"))
        self.assertNotRegex(plain(err["traceback"]), INTERNAL)

    def test_rejected_await_is_an_error(self):
        self.flush_channels()
        reply, outputs = self.execute_helper('await Promise.reject(new SyntaxError("late"))')
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual([(m["msg_type"], m["content"]["ename"], m["content"]["evalue"]) for m in outputs], [("error", "SyntaxError", "late")])

    def test_sdk_error_is_its_diagnosis(self):
        self.flush_channels()
        code = 'import { runtime } from "../dist/sdk"\nthrow new runtime.ConfigError("Bad option", [{ path: "lr", message: "must be > 0" }])'
        reply, outputs = self.execute_helper(code, timeout=120)
        self.assertEqual(reply["content"]["status"], "error")
        err = outputs[-1]["content"]
        self.assertEqual(err["ename"], "ConfigError")
        self.assertEqual(plain(err["traceback"]), "ConfigError: Bad option (1 problem):\n  - lr: must be > 0")

    def test_dataframe_value(self):
        self.flush_channels()
        code = 'import * as dfd from "danfojs-node"\nnew dfd.DataFrame({ method: ["GA", "PO"], sarr: [0.25, 0.75] })'
        reply, outputs = self.execute_helper(code, timeout=60)
        self.assertEqual(reply["content"]["status"], "ok")
        results = [m for m in outputs if m["msg_type"] == "execute_result"]
        self.assertEqual(len(results), 1)
        data = results[0]["content"]["data"]
        self.assertEqual(results[0]["content"]["execution_count"], reply["content"]["execution_count"])
        self.assertRegex(data["text/html"], r"<table>.*<th>method</th><th>sarr</th>.*<td class=\"t\">GA</td><td>0\.25</td>.*<td class=\"t\">PO</td><td>0\.75</td>")
        self.assertEqual(data["text/plain"].split("\n"), ["method  sarr", "    GA  0.25", "    PO  0.75"])

    def test_statement_has_no_result(self):
        self.flush_channels()
        reply, outputs = self.execute_helper("const quiet = 6 * 7;")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual([m["msg_type"] for m in outputs], [])

    def test_interrupt_ends_an_await(self):
        self.flush_channels()
        msg_id = self.kc.execute("await new Promise((resolve) => setTimeout(resolve, 60000))")
        time.sleep(1.0)
        t0 = time.time()
        self.km.interrupt_kernel()
        reply = self.kc.get_shell_msg(timeout=5)
        elapsed = time.time() - t0
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertLess(elapsed, 5.0)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        # the kernel is usable afterwards
        time.sleep(0.2)
        self.flush_channels()
        reply, outputs = self.execute_helper("6 * 8")
        self.assertEqual([m["content"]["data"]["text/plain"] for m in outputs], ["48"])

    def test_interrupt_ends_a_busy_loop(self):
        self.flush_channels()
        msg_id = self.kc.execute("while (true) {}")
        time.sleep(1.0)
        self.km.interrupt_kernel()
        reply = self.kc.get_shell_msg(timeout=5)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual((reply["content"]["status"], reply["content"]["ename"]), ("error", "KeyboardInterrupt"))

    def replies(self, ids, timeout=90):
        got = {}
        deadline = time.time() + timeout
        while set(got) != set(ids):
            try:
                msg = self.kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
            except Empty:
                break
            got[msg["parent_header"]["msg_id"]] = msg
        missing = [i for i in ids if i not in got]
        self.assertEqual(missing, [], "requests left without a reply")
        return [got[i] for i in ids]

    def test_no_request_dropped_after_an_error(self):
        self.flush_channels()
        # Sent together, as Run All does: the failing cell, then more requests at once.
        failing = self.kc.execute('await new Promise((r) => setTimeout(r, 500))\nthrow new Error("first")')
        queued = self.kc.execute("6 * 9")
        info = self.kc.kernel_info()
        lenient = self.kc.execute("6 * 10", stop_on_error=False)
        r_fail, r_queued, r_info, r_lenient = self.replies([failing, queued, info, lenient])
        self.assertEqual(r_fail["content"]["status"], "error")
        # as IPython: execute requests queued behind a failed cell are answered 'aborted'
        self.assertEqual(r_queued["content"]["status"], "aborted")
        self.assertEqual(r_info["content"]["status"], "ok")
        self.assertEqual(r_lenient["content"]["status"], "aborted")
        # a request right after the error reply (tslab dropped those for 200 ms) runs
        ids = [self.kc.execute('throw new Error("second")', stop_on_error=False)]
        ids.append(self.kc.execute("6 * 11"))
        r2 = self.replies(ids)
        self.assertEqual([r["content"]["status"] for r in r2], ["error", "ok"])
        ids = [self.kc.execute('throw new Error("third")')]
        self.replies(ids)
        r3 = self.replies([self.kc.execute("6 * 12")])
        self.assertEqual(r3[0]["content"]["status"], "ok")


if __name__ == "__main__":
    unittest.main()
