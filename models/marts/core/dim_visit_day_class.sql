with

codes as (
    select * from {{ ref('ref_visit_day_classes') }}
)

select * from codes
