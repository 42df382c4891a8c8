with

source as (
    select * from {{ source('cbs', 'cbs_v1_measure_codes') }}
),

current_deliveries as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        source.identifier as measure_code,
        source.title as title_nl,
        source.unit,
        cast(source.decimals as integer) as decimals,
        source.description as description_nl
    from source
    inner join current_deliveries
        on source.delivery_id = current_deliveries.delivery_id
)

select * from renamed
