with

source as (
    {{ flowing_rows('cbs', 'cbs_v1_code_lists') }}
),

renamed as (
    select
        delivery_id,
        code_list,
        identifier as code,
        title as title_nl,
        nullif(description, '') as description_nl,
        identifier = 'T001' as is_total
    from source
)

select * from renamed
