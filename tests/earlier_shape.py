"""Sale items in the shape the storage wrote before the compact item, as deployed tables hold them."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from salesmetrics.storage.items import sale_client_id, sale_lines, stored_sale


def earlier_sale_item(compact: dict[str, Any]) -> dict[str, Any]:
    """The same sale as the earlier storage wrote it (one attribute per field, `lines` a list of
    maps, numbers through boto3's TypeSerializer), in wire form, from a compact item."""
    stored = stored_sale(compact)
    lines = []
    for ln in sale_lines(compact):
        line: dict[str, Any] = {
            "line_no": ln.line_no,
            "item_name": ln.item_name,
            "item_total": ln.item_total,
            "payment_method": ln.payment_method,
            "location": ln.location,
        }
        for name in ("quantity", "item_price", "subtotal", "discount_amount", "tax"):
            if getattr(ln, name) is not None:
                line[name] = getattr(ln, name)
        lines.append(line)
    plain = {
        "pk": f"SALE#{stored.sale_id}",
        "sk": "SALE",
        "sale_id": stored.sale_id,
        "sale_date": stored.sale_date.isoformat(),
        "ver": stored.version,
        "hash": stored.content_hash,
        "total": stored.total,
        "tax": stored.tax,
        "discounts": stored.discounts,
        "client_id": sale_client_id(compact),
        "lines": lines,
        "import_id": stored.import_id,
        "first_import_id": stored.first_import_id,
        "change": stored.change,
        "updated_at": json.loads(compact["sale"]["S"])["updated_at"],
    }
    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in plain.items()}
