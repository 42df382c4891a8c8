with

years as (
    select
        'FA' || cast(range as varchar) as first_admission_year_code,
        cast(range as integer) as first_admission_year,
        case when range = 1999 then '1999 of eerder' else cast(range as varchar) end as title_nl,
        case when range = 1999 then '1999 or earlier' else cast(range as varchar) end as title_en
    from range(1999, 2100)
),

unknown as (
    select
        'ONBK' as first_admission_year_code,
        cast(null as integer) as first_admission_year,
        'Onbekend' as title_nl,
        'Unknown' as title_en
),

final as (
    select * from years
    union all
    select * from unknown
)

select * from final
