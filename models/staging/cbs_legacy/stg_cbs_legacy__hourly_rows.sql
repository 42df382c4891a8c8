with

source as (
    select * from {{ source('cbs_legacy', 'cbs_legacy_passages_per_uur') }}
),

current_deliveries as (
    select * from {{ ref('base_cbs__flowing_deliveries') }}
),

renamed as (
    select
        source.delivery_id,
        current_deliveries.municipality_code,
        current_deliveries.period_code,
        current_deliveries.period_start as month_start,
        source.line_number,
        source.locatie as location_code,
        cast(strptime(source.datum, '%d-%m-%Y') as date) as passage_date,
        cast(source.uur as integer) as hour_of_day,
        source.bestelauto,
        source.vrachtauto,
        source.trekker,
        source.bus,
        source.personenauto,
        source.overig,
        source.onbekend,
        source.totaal
    from source
    inner join current_deliveries
        on source.delivery_id = current_deliveries.delivery_id
)

select * from renamed
