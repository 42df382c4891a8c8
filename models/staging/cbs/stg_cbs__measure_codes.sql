with

source as (
    {{ flowing_rows('cbs', 'cbs_v1_measure_codes') }}
),

renamed as (
    select
        delivery_id,
        identifier as measure_code,
        title as title_nl,
        unit,
        cast(decimals as integer) as decimals,
        description as description_nl
    from source
)

select * from renamed
