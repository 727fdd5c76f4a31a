"""The key-holder's jobs on an existing vault: export, reverse, forget, audit, rekey, verify,
and recording what render replaced so that `reverse` can go back.

Invariant: these commands never create a vault. Each derives the key once, in this
process (audit needs no key: the audit log is in clear and holds no personal data), and
changes the vault, if at all, inside one transaction.

One module a command, named as a noun so that the verbs stay the functions on this
package (as `detection/` keeps `twophase.detect`): `exporting`, `receipts`, `reversal`,
`erasure`, `audit_log`, `rekeying`, `verification`; `records` opens the sealed rows
several of them read.
"""

from twophase.keyholder.audit_log import AuditRun, audit
from twophase.keyholder.erasure import ForgetResult, forget
from twophase.keyholder.exporting import export
from twophase.keyholder.receipts import record_receipts, render_recorded
from twophase.keyholder.rekeying import RekeyResult, rekey
from twophase.keyholder.reversal import ReverseResult, reverse
from twophase.keyholder.verification import VerifyResult, verify

__all__ = [
    "AuditRun",
    "ForgetResult",
    "RekeyResult",
    "ReverseResult",
    "VerifyResult",
    "audit",
    "export",
    "forget",
    "record_receipts",
    "rekey",
    "render_recorded",
    "reverse",
    "verify",
]
