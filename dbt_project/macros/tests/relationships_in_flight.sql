{#
  dbt's relationships test, right for data in flight: a row names a `to` row that `to` may not have taken yet
  when it arrived after the newest row `to` took (the file naming the product can be written and not yet
  listed). Rows that arrived at or before that are checked, so an orphan shows as soon as `to` takes
  anything later; bronze takes orders before products in a run, so a batch load checks every row.
#}
{% test relationships_in_flight(model, column_name, to, field, arrived_at, to_arrived_at) %}
select child.{{ column_name }}
from {{ model }} as child
left join {{ to }} as parent on child.{{ column_name }} = parent.{{ field }}
where
    child.{{ column_name }} is not null
    and parent.{{ field }} is null
    and child.{{ arrived_at }} <= (select max(newest.{{ to_arrived_at }}) from {{ to }} as newest)
{% endtest %}
