"""Examples in the OpenAPI document: answers captured from `make demo` (its generated 5,000-line
sample export of the golf studio, 2025-03-01..2025-07-17), shortened where a list is long."""

from typing import Any

SERIES_EXAMPLE: dict[str, Any] = {
    "start": "2025-03-01",
    "end": "2025-03-16",
    "currency": "SGD",
    "granularity": "week",
    "periods": [
        {
            "start": "2025-03-01",
            "end": "2025-03-02",
            "revenue_sgd": "4873.71",
            "order_count": 96,
            "average_order_value_sgd": "50.79",
            "refund_count": 1,
            "refunds_sgd": "-2.18",
        },
        {
            "start": "2025-03-03",
            "end": "2025-03-09",
            "revenue_sgd": "7193.03",
            "order_count": 182,
            "average_order_value_sgd": "39.56",
            "refund_count": 2,
            "refunds_sgd": "-6.54",
        },
        {
            "start": "2025-03-10",
            "end": "2025-03-16",
            "revenue_sgd": "10135.22",
            "order_count": 246,
            "average_order_value_sgd": "41.54",
            "refund_count": 3,
            "refunds_sgd": "-83.06",
        },
    ],
}

REVENUE_COMPARED_EXAMPLE: dict[str, Any] = {
    "start": "2025-04-01",
    "end": "2025-04-30",
    "currency": "SGD",
    "total_revenue_sgd": "32021.13",
    "net_revenue_sgd": "29377.18",
    "tax_sgd": "2643.95",
    "discounts_sgd": "4006.20",
    "order_count": 832,
    "average_order_value_sgd": "38.63",
    "refund_count": 14,
    "refunds_sgd": "-115.10",
    "comparison": {
        "start": "2025-03-02",
        "end": "2025-03-31",
        "total_revenue_sgd": "34946.05",
        "net_revenue_sgd": "32060.60",
        "tax_sgd": "2885.45",
        "discounts_sgd": "4558.88",
        "order_count": 922,
        "average_order_value_sgd": "38.08",
        "refund_count": 9,
        "refunds_sgd": "-168.30",
        "change_pct": {
            "total_revenue_sgd": "-8.4",
            "net_revenue_sgd": "-8.4",
            "order_count": "-9.8",
            "average_order_value_sgd": "1.4",
            "refunds_sgd": "31.6",
        },
    },
}

BREAKDOWN_EXAMPLE: dict[str, Any] = {
    "start": "2025-03-01",
    "end": "2025-03-31",
    "currency": "SGD",
    "dimension": "payment_method",
    "total_revenue_sgd": "38109.58",
    "rows": [
        {
            "key": "Credit card (Visa/MC-Keyed)",
            "revenue_sgd": "32829.61",
            "net_revenue_sgd": "30118.91",
            "quantity": 1009,
            "line_count": 990,
            "sale_count": 855,
        },
        {
            "key": "Credit card (AMEX-Keyed)",
            "revenue_sgd": "3592.61",
            "net_revenue_sgd": "3295.97",
            "quantity": 91,
            "line_count": 89,
            "sale_count": 77,
        },
        {
            "key": "Misc. (Paynow/Bank Transfer)",
            "revenue_sgd": "1652.48",
            "net_revenue_sgd": "1516.04",
            "quantity": 56,
            "line_count": 56,
            "sale_count": 48,
        },
    ],
    "others": {"key_count": 3, "revenue_sgd": "34.88", "net_revenue_sgd": "32.00", "quantity": 11, "line_count": 25},
}

DAILY_CSV_EXAMPLE = (
    "date,revenue_sgd,order_count,average_order_value_sgd\r\n"
    "2025-03-01,3163.53,49,64.61\r\n2025-03-02,1710.18,47,36.39\r\n2025-03-03,942.81,29,32.51\r\n"
)
SERIES_CSV_EXAMPLE = (
    "start,end,revenue_sgd,order_count,average_order_value_sgd,refund_count,refunds_sgd\r\n"
    "2025-03-01,2025-03-31,38109.58,971,39.42,10,-170.48\r\n"
    "2025-04-01,2025-04-30,32021.13,832,38.63,14,-115.10\r\n"
    "2025-05-01,2025-05-31,37632.72,940,40.29,8,-237.18\r\n"
)
BREAKDOWN_CSV_EXAMPLE = (
    "key,revenue_sgd,net_revenue_sgd,quantity,line_count,sale_count\r\n"
    "10 Practice Credits,6102.82,5598.92,180,180,170\r\n"
    "25 Practice Credits,4400.33,4037.00,58,60,60\r\n"
    "10 Lesson Pack (Chris Ong.),3700.55,3395.00,19,21,20\r\n"
    "(others),23905.88,21932.00,910,899,\r\n"
)
