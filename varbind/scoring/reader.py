"""Reading the input VCF: opening it with cyvcf2, its records (of one region, through the
index) with one-line errors, and chunks of records. Regions: :mod:`varbind.genomics.region`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from varbind.errors import InputFileError


def open_vcf(path: str | Path):
    """Open a VCF/VCF.gz/BCF with cyvcf2, with htslib's own messages silenced."""
    import cyvcf2
    from cyvcf2.cyvcf2 import set_htslib_log_level

    set_htslib_log_level(0)  # errors are reported by varbind, on one line
    path = Path(path)
    if not path.exists():
        raise InputFileError("VCF not found", path=path, fix="check the path")
    try:
        return cyvcf2.VCF(str(path), lazy=True, threads=1)
    except (OSError, ValueError, Exception) as exc:
        raise InputFileError(f"cannot read as VCF/BCF ({exc})", path=path,
                             fix="check it is VCF, bgzipped VCF or BCF with a #CHROM header") \
            from None


def iter_records(vcf, path, region: str | None) -> Iterator:
    """cyvcf2 records of the file or of one region, with parse errors made one-line."""
    if region is not None:
        try:
            it = vcf(region)
        except Exception as exc:
            raise InputFileError(f"cannot query region {region} ({exc})", path=path,
                                 fix="index the VCF (tabix -p vcf, or bcftools index) or "
                                     "drop --region") from None
    else:
        it = iter(vcf)
    n = 0
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except Exception as exc:
            if region is not None and n == 0 and "index" in str(exc):
                raise InputFileError(f"cannot query region {region} (no index)", path=path,
                                     fix="index the VCF (tabix -p vcf, or bcftools index) or "
                                         "drop --region") from None
            line = _bad_line(path, n) if region is None else ""
            where = f"record {n + 1}" + (f" ({line})" if line else "")
            raise InputFileError(f"malformed VCF {where}: {exc}", path=path,
                                 fix="fix or remove the record (bcftools view reports it "
                                     "too)") from None
        n += 1
        yield rec


def _bad_line(path, n_good: int) -> str:
    """First 60 characters of the data line after ``n_good`` good records (text VCF only)."""
    from varbind.files import open_text

    try:
        with open_text(path) as fh:
            seen = 0
            for line in fh:
                if line.startswith("#"):
                    continue
                if seen == n_good:
                    text = line.rstrip("\n").replace("\t", " ")
                    return text[:60] + ("..." if len(text) > 60 else "")
                seen += 1
    except (OSError, UnicodeDecodeError, EOFError):
        return ""
    return ""


def chunks(iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
