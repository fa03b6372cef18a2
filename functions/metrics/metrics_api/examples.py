"""Examples in the OpenAPI document: answers captured from a run on a generated sample export."""

DAILY_CSV_EXAMPLE = "date,revenue_sgd,order_count,average_order_value_sgd\r\n"
SERIES_CSV_EXAMPLE = "start,end,revenue_sgd,order_count,average_order_value_sgd,refund_count,refunds_sgd\r\n"
BREAKDOWN_CSV_EXAMPLE = "key,revenue_sgd,net_revenue_sgd,quantity,line_count,sale_count\r\n"
