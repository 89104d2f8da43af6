-- Users' jobs, one row per (user, job): the array flattened the way each warehouse does it.
with exploded as (
    {{ explode_array(ref('users'), ['user_id'], 'jobs', 'job') }}
)

select distinct user_id, job
from exploded
where job is not null
