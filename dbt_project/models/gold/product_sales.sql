{{ config(materialized=incremental_where_supported(), unique_key='product_id',
          incremental_strategy=upsert_strategy()) }}
-- Each product id's running totals over the items silver holds: units sold and the orders they were in
-- (products or not, so a product that appears later has them). Incremental: the items silver took since
-- the last build are added. An order arrives with all its items (bronze takes them in one transaction), so
-- new items' orders are new orders. product_popularity reads it.
with added as (
    select
        product_id,
        count(*) as units_sold,
        count(distinct order_id) as orders,
        max(_ingested_at) as _ingested_through
    from {{ ref('items') }} as i
    where product_id is not null {{ counted_after('i') }}
    group by product_id
)

{{ running_totals('product_id', {'units_sold': 'count', 'orders': 'count'}) }}
