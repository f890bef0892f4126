"""Kombu's filesystem transport, made safe for a writer and a reader at once.

The stock transport creates the message file and then writes into it, while
a consumer may already have picked the (still empty) file up: the worker
then dies on a JSON decode error. Here a message is written to a hidden file
and renamed into place, so a consumer only ever sees complete messages; a
claimed message is moved inside the data dir (not to /tmp, possibly another
filesystem), and a file that still cannot be decoded is set aside instead of
killing the worker.
"""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        # zero-padded so that name order is arrival order (consumers sort names)
        name = f"{int(round(monotonic() * 1000)):015d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.rename(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str) -> Any:
        suffix = f"{queue}.msg"
        claimed_dir = self.processed_folder
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.startswith(".") or name.partition(".")[2] != suffix:
                continue
            claimed = os.path.join(claimed_dir, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it
            try:
                with open(claimed, "rb") as fh:
                    payload = fh.read()
                message = loads(bytes_to_str(payload))
            except (OSError, ValueError):
                log.error("unreadable task message %s set aside", claimed)
                os.replace(claimed, claimed + ".bad")
                continue
            if not self.store_processed:
                os.remove(claimed)
            return message
        raise filesystem.Empty()


class Transport(filesystem.Transport):
    Channel = Channel
