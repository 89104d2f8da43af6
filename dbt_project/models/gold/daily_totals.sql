{{ config(materialized=incremental_where_supported(), unique_key='order_day', incremental_strategy=upsert_strategy()) }}
-- Each calendar day's (UTC) running totals: orders, their revenue, items. Incremental: the orders and items
-- silver took since the last build are added to their days' totals. daily_sales reads it.
with counted as (
    select
        cast(order_date as date) as order_day,
        1 as orders,
        order_value as revenue,
        0 as items,
        _ingested_at
    from {{ ref('orders') }} as o
    where order_date is not null {{ counted_after('o') }}
    union all
    select cast(o.order_date as date), 0, cast(null as {{ double_type() }}), 1, i._ingested_at  -- noqa: LT09
    from {{ ref('items') }} as i
    inner join {{ ref('orders') }} as o on i.order_id = o.order_id
    where o.order_date is not null {{ counted_after('i') }}
),

added as (
    select
        order_day,
        sum(orders) as orders,
        sum(revenue) as revenue,
        sum(items) as items,
        max(_ingested_at) as _ingested_through
    from counted
    group by order_day
)

{{ running_totals('order_day', {'orders': 'count', 'revenue': 'sum', 'items': 'count'}) }}
