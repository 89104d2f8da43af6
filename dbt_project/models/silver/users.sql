{{ config(materialized=incremental_where_supported(), incremental_strategy='append',
          pre_hook="{{ empty_when_source_changed(source('bronze', 'users')) }}") }}
-- One row per user, from what the users files hold now (each file's latest version): a user removed from
-- a newer file is gone. The first line wins (the source repeats some; across files, the first file by name).
-- Built again only when bronze took users since (macros/incremental.sql).
{% if source_changed(source('bronze', 'users')) %}
with ranked as (
    select
        *,
        row_number() over (partition by id order by _source_file, _line) as rank_in_key
    from {{ latest_file_versions(source('bronze', 'users')) }} as latest
)

select
    cast(id as {{ dbt.type_bigint() }}) as user_id,
    name,
    user_name,
    city,
    street_address,
    phone_number,
    birth_number,
    administrative_unit,
    description,
    jobs,
    _ingested_at as ingested_at
from ranked
where rank_in_key = 1
{% else %}
select * from {{ this }} where 1 = 0  -- nothing new
{% endif %}
