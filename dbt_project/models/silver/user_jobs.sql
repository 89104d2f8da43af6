{{ config(materialized=incremental_where_supported(), incremental_strategy='append',
          pre_hook="{{ empty_when_source_changed(ref('users'), 'ingested_at') }}") }}
-- Users' jobs, one row per (user, job): the array flattened the way each warehouse does it. Built again
-- only when silver's users were (macros/incremental.sql).
{% if source_changed(ref('users'), 'ingested_at') %}
with exploded as (
    {{ explode_array(ref('users'), ['user_id', 'ingested_at'], 'jobs', 'job') }}
)

select
    user_id,
    job,
    max(ingested_at) as ingested_at
from exploded
where job is not null
group by user_id, job
{% else %}
select * from {{ this }} where 1 = 0  -- nothing new
{% endif %}
