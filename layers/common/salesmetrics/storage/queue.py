"""The ingest dead-letter queue, read by the re-drive function."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


@dataclass(frozen=True, slots=True)
class DeadLetter:
    body: str
    receipt_handle: str
    message_id: str


class DeadLetterQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self._sqs: SQSClient | None = None

    @property
    def sqs(self) -> SQSClient:
        if self._sqs is None:
            self._sqs = boto3.client("sqs")
        return self._sqs

    def receive(self, max_messages: int) -> Iterator[DeadLetter]:
        """At most `max_messages`, stopping at the first empty poll: every loop here is bounded."""
        remaining = max_messages
        while remaining > 0:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, remaining),
                WaitTimeSeconds=1,
                VisibilityTimeout=900,
            )
            messages = response.get("Messages", [])
            if not messages:
                return
            for message in messages:
                remaining -= 1
                yield DeadLetter(message.get("Body", ""), message["ReceiptHandle"], message.get("MessageId", ""))

    def delete(self, letter: DeadLetter) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=letter.receipt_handle)
